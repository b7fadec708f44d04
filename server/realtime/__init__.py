"""Realtime push: the WebSocket protocol, subscribers, the pub/sub relay and the channel
registry that every feed (seat maps, gauges, doors) plugs into."""
