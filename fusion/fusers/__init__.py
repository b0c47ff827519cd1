"""Fusers: turn the experts' per-modality scores into one calibrated ``EmotionEstimate``.

``attention`` (the default, main seed), ``average``, ``max_confidence``, ``concat`` and
``transformer`` all implement ``emotion_agent.core.protocols.Fuser``; load any with
``fusion.fusers.registry.load_fuser(name)``.
"""
