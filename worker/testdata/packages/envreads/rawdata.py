# The dict under os.environ, past the recorder's wrapper: counts as
# reading every token.
import os

table = getattr(os, "environ").__getattribute__("_" + "data")
print("rawdata", len(list(dict.items(table))))
