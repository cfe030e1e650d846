"""The live wall's decoding: one camera's stream into scaled frames on a worker thread of its own (QtCore only;
the UI turns the frames into pictures)."""
