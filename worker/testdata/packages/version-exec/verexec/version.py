__version__ = '.'.join(map(str, (0, 9, 1)))
