"""JSON Schema (draft-07) of the ``POST /api/v1/tiles/`` body."""

AGG_FUNCTIONS = ["sum", "mean", "median", "std", "var", "min", "max"]

TILES_POST_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "definitions": {
        "multivecRowAggregationOptions": {
            "type": "object",
            "required": ["aggGroups", "aggFunc"],
            "additionalProperties": False,
            "properties": {
                "aggGroups": {
                    "type": "array",
                    "items": {
                        "oneOf": [
                            {"type": "integer", "minimum": 0},
                            {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 1},
                        ]
                    },
                    "minItems": 1,
                },
                "aggFunc": {"type": "string", "enum": AGG_FUNCTIONS},
            },
        }
    },
    "type": "array",
    "items": {
        "type": "object",
        "required": ["tilesetUid", "tileIds"],
        "properties": {
            "tilesetUid": {"type": "string"},
            "tileIds": {"type": "array", "items": {"type": "string"}},
            "options": {"$ref": "#/definitions/multivecRowAggregationOptions"},
        },
    },
}
