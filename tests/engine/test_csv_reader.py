"""engine.data.csv_file on pyarrow: column types, text feature columns, missing values, the old messages."""

from __future__ import annotations

import numpy as np
import pytest

from engine.config import DataConfig
from engine.data import load_data
from engine.data.files import _read_file
from engine.errors import DataError


def read(path, text_features=False, **kw):
    """(x, y, label maps) of one CSV file, as the loader reads it."""
    cfg = DataConfig(source="csv", path=str(path), **kw)
    return _read_file("csv", str(path), None, None, kw.get("target"), cfg, "data", None, text_features)


def refused(path, text_features=False, **kw) -> str:
    with pytest.raises(DataError) as e:
        read(path, text_features, **kw)
    return str(e.value).split("\n", 1)[1].strip()


class TestTypes:
    """Numbers, spacing, quoting, encodings and blank lines read as before."""

    def test_numbers_with_spaces_quotes_and_blank_lines(self, tmp_path):
        path = tmp_path / "n.csv"
        path.write_text('a, b ,y\n 1, 2.5 ,0\n\n"3","1e3", 2\n,,\n-4,inf,1\n')
        x, y, maps = read(path)
        assert x.dtype == np.float32 and y.dtype == np.int32 and maps == {}
        np.testing.assert_array_equal(x, [[1, 2.5], [3, 1000], [-4, np.inf]])
        np.testing.assert_array_equal(y, [0, 2, 1])

    def test_integer_column_that_turns_decimal_past_the_first_block(self, tmp_path):
        path = tmp_path / "late.csv"
        rows = [f"{i},{i % 3}" for i in range(120_000)] + ["0.5,1"]
        path.write_text("a,y\n" + "\n".join(rows) + "\n")
        x, y, _ = read(path)
        assert x.shape == (120_001, 1) and x[-1, 0] == 0.5 and x[5, 0] == 5

    def test_targets_integers_floats_negative_and_words(self, tmp_path):
        path = tmp_path / "t.csv"
        path.write_text("a,y\n1,-1\n2,3\n")
        assert read(path)[1].dtype == np.float32
        path.write_text("a,y\n1,1.0\n2,3\n")
        assert read(path)[1].dtype == np.float32
        path.write_text("a,y\n1, dog\n2,cat\n3,dog\n")
        y, maps = read(path)[1:]
        np.testing.assert_array_equal(y, [1, 0, 1])
        assert maps == {"": {"cat": 0, "dog": 1}}

    def test_latin1_file_and_utf8_bom(self, tmp_path):
        path = tmp_path / "l.csv"
        path.write_bytes("a,city,y\n1,Zürich,0\n2,Bern,1\n".encode("latin-1"))
        x, _, _ = read(path, text_features=True)
        assert list(x["city"].ravel()) == ["Zürich", "Bern"]
        path.write_bytes("\ufeffa,y\n1,0\n2,1\n".encode("utf-8"))
        assert read(path, target="y")[0].shape == (2, 1)

    def test_no_header_names_columns_by_index(self, tmp_path):
        path = tmp_path / "h.csv"
        path.write_text("1;2;0\n3;4;1\n")
        x, y, _ = read(path, header=False, delimiter=";", target=0)
        np.testing.assert_array_equal(x, [[2, 0], [4, 1]])
        np.testing.assert_array_equal(y, [1, 3])


class TestTextFeatures:
    """Non-numeric feature columns: refused by the reader by default, returned as strings when asked (the loader asks)."""

    def test_text_columns_come_back_per_column(self, tmp_path):
        path = tmp_path / "c.csv"
        path.write_text("age,city,member,y\n31, Paris,true,0\n45,,false,1\n28,Rome,true,1\n")
        x, y, _ = read(path, text_features=True)
        assert set(x) == {"age", "city", "member"}
        assert x["age"].dtype == np.float32 and x["age"].shape == (3, 1)
        assert x["city"].dtype == object and list(x["city"].ravel()) == ["Paris", "", "Rome"]
        assert list(x["member"].ravel()) == ["true", "false", "true"]
        np.testing.assert_array_equal(y, [0, 1, 1])

    def test_all_numeric_stays_one_array_when_text_allowed(self, tmp_path):
        path = tmp_path / "n.csv"
        path.write_text("a,b,y\n1,2,0\n3,4,1\n")
        x, _, _ = read(path, text_features=True)
        assert isinstance(x, np.ndarray) and x.shape == (2, 2)

    def test_text_refused_by_default_naming_the_first_word(self, tmp_path):
        path = tmp_path / "s.csv"
        path.write_text("a,when,y\n1,2020-01-02,0\n2,2021-03-04,1\n")
        assert refused(path) == "data.features: column 'when' is not numeric: line 2 holds '2020-01-02'"
        path.write_text("a,b,y\n1,2,0\n\n2,3.5,1\n3,red,0\n")
        assert refused(path) == "data.features: column 'b' is not numeric: line 5 holds 'red'"

    def test_a_word_in_a_column_of_numbers_is_a_typo_not_a_text_column(self, tmp_path):
        path = tmp_path / "w.csv"
        rows = [f"{i},{150 + i % 40}.5,{'ab'[i % 2]},{i % 3}" for i in range(40)]
        rows[30] = "30,tall,a,0"
        path.write_text("n,height,city,y\n" + "\n".join(rows) + "\n")
        assert refused(path, text_features=True) == (
            "data.features: column 'height' holds 'tall' on line 32, but most of its cells are numbers: "
            "a number was expected there (a column of words is read as text)"
        )
        # a column of words with a few numbers in it stays a text column
        rows = [f"{i},{['Paris', 'Rome', '75001'][i % 3] if i < 6 else 'Lyon'},{i % 3}" for i in range(40)]
        path.write_text("n,city,y\n" + "\n".join(rows) + "\n")
        x, _, _ = read(path, text_features=True)
        assert list(x["city"].ravel()[:3]) == ["Paris", "Rome", "75001"]


class TestMissingValues:
    """Missing numeric cells are refused naming file, column and line; text cells keep ''."""

    @pytest.mark.parametrize("cell", ["nan", "NaN", "NA", "null"])
    def test_missing_value_words_refused(self, tmp_path, cell):
        path = tmp_path / "m.csv"
        path.write_text(f"a,b,y\n1,2,0\n\n3,{cell},1\n")
        assert refused(path) == f"data.features: column 'b' has a missing value: line 4 holds {cell!r}"

    def test_empty_numeric_cell_and_empty_target(self, tmp_path):
        path = tmp_path / "e.csv"
        path.write_text("a,b,y\n1,2,0\n3,,1\n")
        assert refused(path) == "data.features: column 'b' is not numeric: line 3 is empty"
        path.write_text("a,y\n1,0\n2,nan\n")
        assert refused(path) == "data.target: target column 'y' is empty on line 3 (it holds 'nan', a missing value)"
        path.write_text("a,y\n1,cat\n2,\n")
        assert refused(path) == "data.target: target column 'y' is empty on line 3"

    def test_load_data_refuses_a_nan_cell_naming_the_file(self, tmp_path):
        path = tmp_path / "nan.csv"
        path.write_text("a,b,y\n1,2,0\n3,nan,1\n4,5,0\n")
        with pytest.raises(DataError) as e:
            load_data(DataConfig(source="csv", path=str(path)))
        assert str(e.value) == f"error in {path}:\n  data.features: column 'b' has a missing value: line 3 holds 'nan'"


class TestMalformed:
    """Ragged rows, quoting errors, wrong delimiters: the old messages, with lines."""

    def test_ragged_row_past_blank_lines(self, tmp_path):
        path = tmp_path / "r.csv"
        path.write_text("a,b,y\n1,2,0\n\n   \n3,4,1\n5,6\n")
        assert refused(path) == "data.path: line 6 has 2 fields but the header has 3"

    def test_a_ragged_row_after_latin1_text(self, tmp_path):
        path = tmp_path / "l.csv"  # the message's reader switches to Latin-1 at line 4 and counts on
        path.write_bytes("a,city,y\n1,Bern,0\n2,Genf,1\n3,Zürich,1\n4,Köln\n5,Wien,0\n".encode("latin-1"))
        assert refused(path, text_features=True) == "data.path: line 5 has 2 fields but the header has 3"

    def test_a_name_twice_in_the_header(self, tmp_path):
        path = tmp_path / "h.csv"
        path.write_text("age,income,age,y\n1,2,3,0\n")
        assert refused(path) == (
            "data.path: names the column 'age' twice in its header; every column needs a name of its own"
        )

    def test_lines_count_as_an_editor_does_past_a_quoted_line_end(self, tmp_path):
        path = tmp_path / "q.csv"
        path.write_text('a,city,y\n1,"New\nYork",0\n2,Rome,1\n,Oslo,1\n')
        assert refused(path, text_features=True) == "data.features: column 'a' is not numeric: line 5 is empty"

    def test_wrong_delimiter_hint_and_header_only(self, tmp_path):
        path = tmp_path / "d.csv"
        path.write_text("a;b;y\n1;2;0\n")
        assert refused(path) == (
            "data.path: has a single column; need features and a target (is data.delimiter ',' right?)"
        )
        path.write_text("a,b,y\n")
        assert refused(path) == "data.path: has a header but no data rows"


class TestRanges:
    """A big file is read as byte ranges on several threads; the result and every message are the
    single stream's. The ranges are made tiny here (SPLIT_BYTES) so a small file is cut four ways."""

    @pytest.fixture
    def split(self, monkeypatch):
        from engine.data import csv_file

        monkeypatch.setattr(csv_file, "SPLIT_BYTES", 2048)
        monkeypatch.setattr(csv_file, "_usable_cores", lambda: 4)
        return csv_file

    @staticmethod
    def write(path, rows: list[str], header: str | None = "a,b,c,y", encoding: str = "utf-8") -> None:
        path.write_bytes((((header + "\n") if header else "") + "\n".join(rows) + "\n").encode(encoding))

    @staticmethod
    def table(n: int = 2000) -> list[str]:
        rng = np.random.default_rng(1)
        return [f"{i},{rng.normal():.5f},{rng.normal() * 100:.3f},{i % 3}" for i in range(n)]

    def single(self, monkeypatch, csv_file, path, **kw):
        with monkeypatch.context() as m:
            m.setattr(csv_file, "SPLIT_BYTES", 1 << 40)
            assert len(csv_file._ranges(str(path))) == 1
            return read(path, **kw)

    def test_ranges_end_on_line_ends_and_cover_the_file(self, tmp_path, split):
        path = tmp_path / "big.csv"
        self.write(path, self.table())
        ranges = split._ranges(str(path))
        data = path.read_bytes()
        assert len(ranges) == 4 and ranges[0][0] == 0 and ranges[-1][1] == len(data)
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
        assert all(data[end - 1:end] == b"\n" for _, end in ranges)

    @pytest.mark.parametrize("header", [True, False])
    def test_same_table_as_one_stream(self, tmp_path, split, monkeypatch, header):
        path = tmp_path / "big.csv"
        self.write(path, self.table(), "a,b,c,y" if header else None)
        x, y, _ = read(path, header=header)
        x1, y1, _ = self.single(monkeypatch, split, path, header=header)
        assert x.shape == (2000, 3) and x.dtype == np.float32
        np.testing.assert_array_equal(x, x1)
        np.testing.assert_array_equal(y, y1)
        assert x[1234, 0] == 1234 and y[1234] == 1234 % 3

    def test_blank_lines_and_latin1_in_a_later_range(self, tmp_path, split, monkeypatch):
        path = tmp_path / "big.csv"
        rows = [f"{i},{i % 7},x{i % 2},{i % 3}" for i in range(1500)]
        rows[1400] = "1400,0,Zürich,1"
        rows[1200:1200] = ["", ",,,"]
        self.write(path, rows, encoding="latin-1")
        x, y, _ = read(path, text_features=True)
        assert len(split._ranges(str(path))) == 4
        assert x["c"][1400, 0] == "Zürich" and len(y) == 1500
        x1, _, _ = self.single(monkeypatch, split, path, text_features=True)
        np.testing.assert_array_equal(x["a"], x1["a"])

    def test_a_type_that_changes_in_a_later_range(self, tmp_path, split):
        path = tmp_path / "big.csv"
        rows = [f"{i},{i % 5},1,{i % 3}" for i in range(2000)]
        rows[1900] = "1900,2.5,1,0"
        self.write(path, rows)
        x, _, _ = read(path)
        assert x[1900, 1] == 2.5 and x[1899, 1] == 1899 % 5

    @pytest.mark.parametrize(
        ("row", "text", "message"),
        [
            (1700, "1,2,3", "data.path: line 1702 has 3 fields but the header has 4"),
            (1800, "1,,3,0", "data.features: column 'b' is not numeric: line 1802 is empty"),
            (1850, "1,2,nan,0", "data.features: column 'c' has a missing value: line 1852 holds 'nan'"),
            (1900, "1,2,abc,0", "data.features: column 'c' is not numeric: line 1902 holds 'abc'"),
        ],
    )
    def test_messages_name_lines_in_a_later_range(self, tmp_path, split, row, text, message):
        path = tmp_path / "big.csv"
        rows = self.table()
        rows[row] = text
        self.write(path, rows)
        assert len(split._ranges(str(path))) == 4
        assert refused(path) == message

    def test_a_file_with_a_quote_is_one_stream(self, tmp_path, split):
        path = tmp_path / "big.csv"
        rows = self.table()
        rows[1500] = '1500,"2.0",3,0'
        self.write(path, rows)
        assert split._ranges(str(path)) == [(0, path.stat().st_size)]
        assert read(path)[0][1500, 1] == 2.0
