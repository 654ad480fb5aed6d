"""Citizens' problem reports (issue 16): matching a report to the hotspot it is about,
filing it into that hotspot's incident, and keeping what a citizen sends safe (photos
re-encoded without EXIF, proof of work instead of a third-party captcha)."""
