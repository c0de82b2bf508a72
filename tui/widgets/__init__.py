"""The app's widgets, one per module (charts, dashboard, forms, the nav bar, the footer …)."""
