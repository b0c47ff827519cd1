"""The pipeline's processors, one idea per file.

Audio:  resample → vad → partial_asr → turns (assembles a turn with its faces and queues it)
Video:  video_sampler → face_detect → face memory
Turn:   recognise (ASR + face + voice, provisional) → text_expert → fuse → mood → safety → handoff
        → respond → scoring_gate → wire_out
"""
