from motia import StreamConfig

config = StreamConfig(name="orderStatus", schema={"type": "object"}, base_config={"storageType": "default"})
