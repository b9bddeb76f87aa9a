"""The daemon's seam to the operating system: peer credentials, the Windows pipe, the private
socket bind, socket activation, process hygiene, the log file and the event loop."""
