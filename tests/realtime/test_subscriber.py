"""The broadcast path's wire frames are valid WebSocket frames (checked with websockets)."""

from __future__ import annotations

import json

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from server.realtime.protocol import JSON, MSGPACK
from server.realtime.subscriber import MAX_HELD, Encoded, OutFrame, Subscriber, ws_frame


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


class Collected:
    """A transport that keeps what is written (the subscriber's own logic under test)."""

    def __init__(self) -> None:
        self.frames: list[OutFrame] = []

    def write(self, frame: OutFrame) -> None:
        self.frames.append(frame)

    def backlog(self) -> int:
        return 0

    def closed(self) -> bool:
        return False

    async def aclose(self) -> None:
        return None

    def messages(self) -> list[dict[str, object]]:
        return [json.loads(f.payload) for f in self.frames]


def test_frames_held_back_during_a_first_frame_follow_it_in_order() -> None:
    sink = Collected()
    sub = Subscriber(sink, JSON, max_backlog=1 << 20)
    sub.hold_back("seats:1")
    for n in range(3):
        sub.push(OutFrame.of(JSON, {"type": "delta", "n": n}), "seats:1")
    assert sink.frames == []
    sub.release("seats:1", OutFrame.of(JSON, {"type": "snapshot"}))
    assert [m.get("n", "first") for m in sink.messages()] == ["first", 0, 1, 2]


def test_too_many_frames_held_back_end_in_a_resync_not_a_silent_gap() -> None:
    sink = Collected()
    sub = Subscriber(sink, JSON, max_backlog=1 << 20)
    sub.hold_back("seats:1")
    for n in range(MAX_HELD + 5):
        sub.push(OutFrame.of(JSON, {"type": "delta", "n": n}), "seats:1")
    sub.release("seats:1", OutFrame.of(JSON, {"type": "snapshot"}))
    messages = sink.messages()
    assert messages[0] == {"type": "snapshot"}
    assert messages[1:] == [{"type": "resync", "channel": "seats:1", "reason": "slow_consumer"}]
