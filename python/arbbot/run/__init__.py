"""The running bot: live sessions against the venues (real or the embedded simulator)."""
