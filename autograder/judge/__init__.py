"""The judge: test cells run outside the student's process, against the student's kernel through proxies.
"""
