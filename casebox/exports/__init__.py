"""The patient's data export: everything casebox holds on them, as one zip."""
