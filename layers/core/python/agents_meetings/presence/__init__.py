"""Who is online (spec 2.1's presence indicators): last authenticated request and open WebSockets."""
