"""Live camera and engine state in the database: the engine publishes it, consoles and `status` read it."""
