"""The plumbing under the annotation hot path: prepared statements (lift/prepared.py) and output serializers
whose fields are built once (lift/output.py). Both must be invisible: the same rows, the same answers."""
import uuid

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers

from lift.output import OutputSerializer
from lift.prepared import PreparedStatement
from tests.conftest import GOOD_RATINGS, token_client


def _prepared_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {row[0] for row in cursor.fetchall()}


def test_named_placeholders_become_numbered_parameters_once_each():
    statement = PreparedStatement("t_named", "SELECT %(a)s::int + %(b)s::int + %(a)s::int")
    assert statement.keys == ["a", "b"]
    assert "AS SELECT $1::int + $2::int + $1::int" in statement._prepare
    positional = PreparedStatement("t_positional", "SELECT %s::int, %s::int, %s::text")
    assert positional.keys == [0, 1, 2] and "$3::text" in positional._prepare


@pytest.mark.django_db
def test_a_statement_is_prepared_once_per_connection_and_gives_the_plain_sql_answer():
    statement = PreparedStatement(f"t_{uuid.uuid4().hex[:8]}", "SELECT %(x)s::int * 2, %(label)s::text")
    with connection.cursor() as cursor:
        statement.execute(cursor, {"x": 21, "label": "it's"})
        assert cursor.fetchone() == (42, "it's")
        assert statement.name in _prepared_names()
    # A rolled-back transaction does not take the prepared statement with it: the next call only executes.
    with pytest.raises(RuntimeError), transaction.atomic():
        with connection.cursor() as cursor:
            statement.execute(cursor, {"x": 1, "label": "a"})
            raise RuntimeError
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        statement.execute(cursor, {"x": 5, "label": None})
        assert cursor.fetchone() == (10, None)
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["EXECUTE"]


@pytest.mark.django_db
@override_settings(LIFT_PREPARED_STATEMENTS=False)
def test_switched_off_the_sql_runs_as_written():
    statement = PreparedStatement(f"t_{uuid.uuid4().hex[:8]}", "SELECT %s::int + 1")
    with connection.cursor() as cursor:
        statement.execute(cursor, [1])
        assert cursor.fetchone() == (2,)
    assert statement.name not in _prepared_names()


@pytest.mark.parametrize("prepared", [True, False])
def test_the_rating_loop_is_the_same_with_and_without_prepared_statements(people, prepared):
    with override_settings(LIFT_PREPARED_STATEMENTS=prepared):
        client = token_client(people["annotator"])
        lease = client.post(f"/api/campaigns/{people['campaign'].pk}/next-task/").json()
        served = []
        while lease:
            served.append(lease["video"]["id"])
            response = client.post(f"/api/assignments/{lease['id']}/submit/?next=1",
                                   {"ratings": GOOD_RATINGS, "time_spent_ms": 10}, format="json",
                                   HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
            assert response.status_code == 201, response.json()
            lease = response.json()["next"]
    assert sorted(served) == sorted(item.video_id for item in people["items"])


class _Point(OutputSerializer):
    x = serializers.IntegerField()
    label = serializers.SerializerMethodField()

    def get_label(self, point) -> str:
        return f"({point['x']})"


class _Segment(OutputSerializer):
    start = _Point()
    end = _Point(allow_null=True)


def test_fields_built_once_answer_each_object_as_a_plain_serializer_would():
    first = _Segment({"start": {"x": 1}, "end": {"x": 2}}).data
    second = _Segment({"start": {"x": 3}, "end": None}).data
    assert first == {"start": {"x": 1, "label": "(1)"}, "end": {"x": 2, "label": "(2)"}}
    assert second == {"start": {"x": 3, "label": "(3)"}, "end": None}
    # Built once: two instances share the bound fields, which keep no instance's object.
    a, b = _Point({"x": 1}), _Point({"x": 2})
    assert a.fields is b.fields
    assert all(field.parent.instance is None for field in a.fields.values())


@pytest.mark.parametrize("accept, status", [(None, 200), ("*/*", 200), ("application/json", 200),
                                            ("application/json; indent=2", 200), ("text/html", 406)])
def test_negotiation_answers_json_and_still_refuses_what_it_cannot_render(people, accept, status):
    client = token_client(people["annotator"])
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    response = client.get("/api/auth/me/", **headers)
    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"].startswith("application/json") and response.json()["username"]
