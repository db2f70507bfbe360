"""Roles are Django groups: annotator, reviewer, admin (superusers count as admins)."""
from django.contrib.auth.models import Group

ANNOTATOR, REVIEWER, ADMIN = "annotator", "reviewer", "admin"
ROLES = (ANNOTATOR, REVIEWER, ADMIN)


def user_roles(user) -> list[str]:
    if not user or not user.is_authenticated:
        return []
    # Cached on the user object: permission checks ask several times per request.
    if not hasattr(user, "_lift_roles"):
        names = set(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            names.add(ADMIN)
        user._lift_roles = [role for role in ROLES if role in names]
    return user._lift_roles


def is_admin(user) -> bool:
    return ADMIN in user_roles(user)


def is_reviewer(user) -> bool:
    return REVIEWER in user_roles(user) or is_admin(user)


def role_grant(*, user, role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    user.__dict__.pop("_lift_roles", None)


def roles_set(user, group_names) -> None:
    """Caches on `user` the roles among `group_names`, the groups a query already loaded with the user
    (user_roles then asks no query)."""
    names = set(group_names)
    if user.is_superuser:
        names.add(ADMIN)
    user._lift_roles = [role for role in ROLES if role in names]
