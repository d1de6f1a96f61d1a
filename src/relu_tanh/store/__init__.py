"""The bottom layer: where runs are stored and what identifies them.

`scales` names the three scales, `registry` is the dict-plus-decorator every registry uses,
`results` writes and reads the JSON records (locks, atomic writes, provenance).
"""
