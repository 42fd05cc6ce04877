"""The pure-Python twin of the Swift hot path (selected with ARB_ENGINE=python).

Bit-for-bit the same results and error codes as Sources/ArbEngineSwift; the parity tests hold
the two together. Integer arithmetic only, except evaluate.py (IEEE doubles, same order).
"""
