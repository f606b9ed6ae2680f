"""``configuration`` (mandatory): typed, schema-checked settings stored one YAML file per id
(spec/workers.md §3)."""
