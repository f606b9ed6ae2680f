"""Storage back-ends shared by several built-in workers (kv, queues, pub/sub)."""
