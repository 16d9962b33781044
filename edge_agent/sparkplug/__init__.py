"""The agent as a Sparkplug B 3.0 edge node over MQTT: payloads, topics, store-and-forward, the session."""
