"""API token authentication that loads the token, its user and the user's role groups in one statement."""
from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from lift.prepared import PreparedStatement

from .roles import roles_set
from .rows import Columns


@cache
def _user_by_token(token_table: str) -> tuple[Columns, PreparedStatement]:
    """The user's row once per group it is in (once, group NULL, without any), with the token's columns: a
    plain join written once and prepared. The ORM's version (three Exists annotations) cost more to build on
    every request than the query took to run (bench/RESULTS.md, profile)."""
    user_model = get_user_model()
    through, quote = user_model.groups.through._meta, connection.ops.quote_name
    member = {f.related_model: f.column for f in through.get_fields() if getattr(f, "related_model", None)}
    user = Columns(user_model, "u")
    pk = quote(user_model._meta.pk.column)
    return user, PreparedStatement("user_by_token", (
        f"SELECT {user.sql}, t.{quote('created')}, g.{quote('name')} FROM {quote(token_table)} t "
        f"JOIN {user.table} ON u.{pk} = t.{quote('user_id')} "
        f"LEFT JOIN {quote(through.db_table)} ug ON ug.{quote(member[user_model])} = u.{pk} "
        f"LEFT JOIN {quote(Group._meta.db_table)} g ON g.{quote(Group._meta.pk.column)} = ug.{quote(member[Group])} "
        f"WHERE t.{quote('key')} = %s"
    ))


class TokenWithRolesAuthentication(TokenAuthentication):
    """DRF's TokenAuthentication (same header, same answers), with the roles read alongside: every API
    call checks roles, and a second query for them cost as much as the token look-up itself."""

    def authenticate_credentials(self, key):
        token_model = self.get_model()
        columns, statement = _user_by_token(token_model._meta.db_table)
        with connection.cursor() as cursor:
            statement.execute(cursor, [key])
            rows = cursor.fetchall()
        if not rows:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = columns.instance(rows[0][:len(columns)])
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        roles_set(user, {row[-1] for row in rows if row[-1]})
        return (user, token_model(key=key, user=user, created=rows[0][-2]))
