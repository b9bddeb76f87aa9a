"""The adversarial suite: each finding of issue 19 as an attacker or a slow provider sees it."""
