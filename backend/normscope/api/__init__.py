"""FastAPI app: REST, websocket, pages. Never imports the engine."""
