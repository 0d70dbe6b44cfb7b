"""Media: one aiortc peer connection per participant and the router that forwards RTP packets."""
