"""The pure core: flows, the conversation engine and safety checks. No I/O of any kind."""
