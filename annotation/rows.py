"""Model instances from hand-written SQL, for the annotation API's hot statements.

The ORM builds and compiles every query anew on each request; on the lease and submit path that cost more
Python than PostgreSQL spent running the statements (bench/RESULTS.md, the annotation API's profile). The
few statements there are written once, their SELECT lists generated from the models, and their rows turned
back into ordinary model instances (with the relations attached), so the rest of the code cannot tell.
"""
from django.db import connection


class Columns:
    """One model's concrete columns under a table alias: the SQL that selects them, and the instance that a
    row's slice of them makes (None when the primary key is NULL, as a LEFT JOIN that found nothing leaves it)."""

    def __init__(self, model, alias: str):
        fields = model._meta.concrete_fields
        self.model = model
        self.table = f"{connection.ops.quote_name(model._meta.db_table)} {alias}"
        self.sql = ", ".join(f"{alias}.{connection.ops.quote_name(f.column)}" for f in fields)
        self.attnames = [f.attname for f in fields]
        self._pk_at = self.attnames.index(model._meta.pk.attname)
        # JSON arrives as text on PostgreSQL (Django's own loader), as it does for the ORM's queries.
        self._converters = [(i, f.from_db_value) for i, f in enumerate(fields) if hasattr(f, "from_db_value")]

    def __len__(self) -> int:
        return len(self.attnames)

    def instance(self, values):
        if values[self._pk_at] is None:
            return None
        values = list(values)
        for i, convert in self._converters:
            values[i] = convert(values[i], None, connection)
        return self.model.from_db(connection.alias, self.attnames, values)


def select_list(*columns: Columns) -> str:
    return ", ".join(c.sql for c in columns)


def instances(row, *columns: Columns) -> list:
    """The instances of one row that selected `columns` in this order."""
    found, start = [], 0
    for c in columns:
        found.append(c.instance(row[start:start + len(c)]))
        start += len(c)
    return found
