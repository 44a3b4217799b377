"""The removable-device registry: devices seen by agents; a device marked lost or revoked alerts when seen."""

from __future__ import annotations

import time
from typing import Annotated, Any

import msgspec
from aiohttp import web

from server.api import schemas as s
from server.api.access import actor, person
from server.api.responses import ApiError, decode, json_response, path_int, read_body
from server.keys import CONFIG, STORE
from server.store.interface import Device, DeviceStatus

routes = web.RouteTableDef()


def device_json(d: Device) -> dict[str, Any]:
    return s.answer(d, s.DeviceOut)


@routes.get("/api/v1/devices")
@person("viewer")
async def list_devices(request: web.Request) -> web.Response:
    return json_response({"items": [device_json(d) for d in await request.app[STORE].list_devices()]})


class DeviceChange(msgspec.Struct, forbid_unknown_fields=True):
    status: DeviceStatus
    note: Annotated[str, msgspec.Meta(max_length=4000)] | None = None


@routes.patch("/api/v1/devices/{id}")
@person("analyst")
async def change_device(request: web.Request) -> web.Response:
    cfg, store = request.app[CONFIG], request.app[STORE]
    device_id = path_int(request)
    body = decode(await read_body(request, 64 * 1024, cfg.body_timeout), DeviceChange)
    now = time.time()
    async with store.transaction() as tx:
        if not await tx.set_device_status(device_id, body.status, body.note):
            raise ApiError(404, "not_found", "no such device")
        await tx.add_audit(actor(request), "device.update", "device", str(device_id),
                           {"status": body.status, "note": body.note}, now)
        device = await tx.get_device(device_id)
    assert device is not None
    return json_response(device_json(device))
