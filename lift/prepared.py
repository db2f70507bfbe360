"""Server-side prepared statements for the annotation hot path's hand-written SQL on PostgreSQL.

PostgreSQL spent more time planning those statements than running them (the lease's pick: 1.0 ms to plan,
0.4 ms to run; bench/RESULTS.md). Each is prepared once per database connection (connections persist,
CONN_MAX_AGE) and afterwards only executed. Elsewhere (SQLite, or LIFT_PREPARED_STATEMENTS=0 behind a
transaction-mode pooler such as PgBouncer's, which does not keep a session's prepared statements) the same
SQL runs as written.
"""
import re
import weakref
from collections.abc import Mapping

from django.conf import settings

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s")
_prepared_on = weakref.WeakKeyDictionary()  # a driver connection -> the names prepared on it


class PreparedStatement:
    """One statement in Django's placeholder style (all %(name)s, or all %s), executed through a prepared
    statement where it can be. PostgreSQL infers the parameters' types from where they stand: one that only
    appears as a selected value (not inserted into a column) needs a cast in the SQL."""

    def __init__(self, name: str, sql: str):
        self.name, self.sql = f"lift_{name}", sql
        self.keys: list[str | int] = []  # the parameter behind $1, $2, ...

        def number(match) -> str:
            key = match.group(1) or len(self.keys)  # a name used twice is one parameter; each %s is its own
            if key not in self.keys:
                self.keys.append(key)
            return f"${self.keys.index(key) + 1}"

        self._prepare = f"PREPARE {self.name} AS {_PLACEHOLDER.sub(number, sql)}"
        self._execute = f"EXECUTE {self.name}" + (f"({', '.join(['%s'] * len(self.keys))})" if self.keys else "")

    def execute(self, cursor, params: Mapping | list | tuple = ()):
        """Run it on a Django cursor; afterwards the cursor holds its rows and rowcount as usual."""
        db = cursor.db
        if db.vendor != "postgresql" or not getattr(settings, "LIFT_PREPARED_STATEMENTS", True):
            return cursor.execute(self.sql, params)
        driver_connection = db.connection
        names = _prepared_on.setdefault(driver_connection, set())
        if self.name not in names:
            cursor.execute(self._prepare)  # once per connection; it outlives transactions and their rollbacks
            names.add(self.name)
        values = [params[key] for key in self.keys] if isinstance(params, Mapping) else list(params)
        return cursor.execute(self._execute, values)
