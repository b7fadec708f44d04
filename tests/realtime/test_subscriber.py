"""The broadcast path's wire frames are valid WebSocket frames (checked with websockets)."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from server.realtime.protocol import JSON, MSGPACK
from server.realtime.subscriber import Encoded, ws_frame


def parse(wire: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(wire)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        frame: Frame = done.value
        return frame
    raise AssertionError("incomplete frame")


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 200_000])
def test_frames_of_every_length_class_parse_back(size: int) -> None:
    payload = bytes(i % 251 for i in range(size))
    frame = parse(ws_frame(payload, binary=True))
    assert (frame.opcode, frame.fin, frame.data) == (Opcode.BINARY, True, payload)


def test_a_message_is_encoded_once_per_encoding() -> None:
    message = {"type": "delta", "changes": [[1, 2]], "label": "é"}
    encoded = Encoded(message)
    text, packed = encoded.frame(JSON), encoded.frame(MSGPACK)
    assert encoded.frame(JSON) is text and text.wire() is text.wire()
    assert JSON.decode(bytes(parse(text.wire()).data).decode()) == message
    assert parse(text.wire()).opcode == Opcode.TEXT
    assert MSGPACK.decode(bytes(parse(packed.wire()).data)) == message
