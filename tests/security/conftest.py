"""The security suite attacks a real engine process from outside: raw sockets, real HTTP,
the official SDKs. One file per class of attack (docs/security.md lists them with their result)."""
