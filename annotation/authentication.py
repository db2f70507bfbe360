"""API token authentication that loads the token, its user and the user's role groups in one statement."""
from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from .roles import roles_set


@cache
def _user_by_token(token_table: str) -> str:
    """The user's row once per group it is in (once, group NULL, without any), with the token's columns: a
    plain join written once. The ORM's version (three Exists annotations) cost more to build on every
    request than the query took to run (bench/RESULTS.md, profile)."""
    user_model = get_user_model()
    user, through, quote = user_model._meta, user_model.groups.through._meta, connection.ops.quote_name
    member = {f.related_model: f.column for f in through.get_fields() if getattr(f, "related_model", None)}
    columns = ", ".join(f"u.{quote(f.column)}" for f in user.concrete_fields)
    return (
        f"SELECT {columns}, t.{quote('key')} AS lift_token_key, t.{quote('created')} AS lift_token_created, "
        f"g.{quote('name')} AS lift_group FROM {quote(token_table)} t "
        f"JOIN {quote(user.db_table)} u ON u.{quote(user.pk.column)} = t.{quote('user_id')} "
        f"LEFT JOIN {quote(through.db_table)} ug ON ug.{quote(member[user_model])} = u.{quote(user.pk.column)} "
        f"LEFT JOIN {quote(Group._meta.db_table)} g ON g.{quote(Group._meta.pk.column)} = ug.{quote(member[Group])} "
        f"WHERE t.{quote('key')} = %s"
    )


class TokenWithRolesAuthentication(TokenAuthentication):
    """DRF's TokenAuthentication (same header, same answers), with the roles read alongside: every API
    call checks roles, and a second query for them cost as much as the token look-up itself."""

    def authenticate_credentials(self, key):
        token_model = self.get_model()
        rows = list(get_user_model().objects.raw(_user_by_token(token_model._meta.db_table), [key]))
        if not rows:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = rows[0]
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        roles_set(user, {row.lift_group for row in rows if row.lift_group})
        return (user, token_model(key=user.lift_token_key, user=user, created=user.lift_token_created))
