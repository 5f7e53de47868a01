# ruff: noqa
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Upload(_message.Message):
    __slots__ = ("unit_id", "upload_id", "route")
    class Route(_message.Message):
        __slots__ = ("start_time", "point", "stop", "route_name", "route_description", "route_notes", "vehicle_type", "vehicle_capacity")
        class Point(_message.Message):
            __slots__ = ("lat", "lon", "timeoffset")
            LAT_FIELD_NUMBER: _ClassVar[int]
            LON_FIELD_NUMBER: _ClassVar[int]
            TIMEOFFSET_FIELD_NUMBER: _ClassVar[int]
            lat: float
            lon: float
            timeoffset: int
            def __init__(self, lat: _Optional[float] = ..., lon: _Optional[float] = ..., timeoffset: _Optional[int] = ...) -> None: ...
        class Stop(_message.Message):
            __slots__ = ("lat", "lon", "arrivalTimeoffset", "departureTimeoffset", "board", "alight")
            LAT_FIELD_NUMBER: _ClassVar[int]
            LON_FIELD_NUMBER: _ClassVar[int]
            ARRIVALTIMEOFFSET_FIELD_NUMBER: _ClassVar[int]
            DEPARTURETIMEOFFSET_FIELD_NUMBER: _ClassVar[int]
            BOARD_FIELD_NUMBER: _ClassVar[int]
            ALIGHT_FIELD_NUMBER: _ClassVar[int]
            lat: float
            lon: float
            arrivalTimeoffset: int
            departureTimeoffset: int
            board: int
            alight: int
            def __init__(self, lat: _Optional[float] = ..., lon: _Optional[float] = ..., arrivalTimeoffset: _Optional[int] = ..., departureTimeoffset: _Optional[int] = ..., board: _Optional[int] = ..., alight: _Optional[int] = ...) -> None: ...
        START_TIME_FIELD_NUMBER: _ClassVar[int]
        POINT_FIELD_NUMBER: _ClassVar[int]
        STOP_FIELD_NUMBER: _ClassVar[int]
        ROUTE_NAME_FIELD_NUMBER: _ClassVar[int]
        ROUTE_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
        ROUTE_NOTES_FIELD_NUMBER: _ClassVar[int]
        VEHICLE_TYPE_FIELD_NUMBER: _ClassVar[int]
        VEHICLE_CAPACITY_FIELD_NUMBER: _ClassVar[int]
        start_time: int
        point: _containers.RepeatedCompositeFieldContainer[Upload.Route.Point]
        stop: _containers.RepeatedCompositeFieldContainer[Upload.Route.Stop]
        route_name: str
        route_description: str
        route_notes: str
        vehicle_type: str
        vehicle_capacity: str
        def __init__(self, start_time: _Optional[int] = ..., point: _Optional[_Iterable[_Union[Upload.Route.Point, _Mapping]]] = ..., stop: _Optional[_Iterable[_Union[Upload.Route.Stop, _Mapping]]] = ..., route_name: _Optional[str] = ..., route_description: _Optional[str] = ..., route_notes: _Optional[str] = ..., vehicle_type: _Optional[str] = ..., vehicle_capacity: _Optional[str] = ...) -> None: ...
    UNIT_ID_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    unit_id: int
    upload_id: int
    route: _containers.RepeatedCompositeFieldContainer[Upload.Route]
    def __init__(self, unit_id: _Optional[int] = ..., upload_id: _Optional[int] = ..., route: _Optional[_Iterable[_Union[Upload.Route, _Mapping]]] = ...) -> None: ...
