"""Serializers whose fields are built once per class.

DRF deep-copies and binds every declared field for every serializer instance it makes: on the annotation
hot path (a lease and an annotation, their videos nested) that cost more Python than rendering the answer
itself (bench/RESULTS.md, the annotation API's profile). Output serializers that only read the object they are
given (and plain input ones), can build their fields once, on a bare instance of the class, and share them.
"""
from rest_framework import serializers


# No docstrings below: drf-spectacular would take them as the description of every serializer built on them.
class FieldsBuiltOnce:
    # Mix into a serializer whose fields use nothing of the serializer instance (no context, no per-instance
    # arguments; validation keeps its state in the serializer, not in the fields): its bound fields are built
    # on first use and kept on the class.

    @property
    def fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built_once")
        if built is None:
            # A bare instance owns them, so they keep no request's object alive.
            built = super(FieldsBuiltOnce, cls()).fields
            cls._fields_built_once = built
        return built


class OutputSerializer(FieldsBuiltOnce, serializers.Serializer):
    pass


class ModelOutputSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    pass
