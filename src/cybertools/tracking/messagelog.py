"""Plain text messages appended to a log file: the original's ``Logger``.

Applications written for the original cybertools.tracking log one line
per request with it and load the file into a tracking storage later::

    logger = loggers.get(name)
    if logger is None:
        logger = loggers[name] = Logger(name, path)
    logger.log('001;alice;/docs/report;view')
    ...
    logger.doRollover()      # after loading: start a new file

A line is the time, a semicolon and the message (the ``logformat``). The
file is rotated only by ``doRollover``: ``path`` becomes ``path.1``, older
files move up, ``backupCount`` (5) of them are kept. For records with
fields of their own, escaping and a loader, use ``AccessLogger`` and
``loadAccessLog`` (logfile.py) instead.
"""

import logging
import logging.handlers
import os


class Logger:
    """Writes messages to ``logfile`` through the standard logger
    ``logname``.

    One file per name: a second Logger for a name takes over its logging
    from the first (closing the first one's file). The messages stay in
    the file: they do not propagate to the application's other logs.
    """

    handler = None

    def __init__(self, logname, logfile,
                 logformat='%(asctime)s;%(message)s', **kw):
        self.logname = logname
        self.logfile = logfile
        self.logformat = logformat
        self.params = kw
        self.setup()

    def setup(self):
        directory = os.path.dirname(self.logfile)
        if directory:
            os.makedirs(directory, exist_ok=True)
        logger = logging.getLogger(self.logname)
        for handler in list(logger.handlers):
            if isinstance(handler, _MessageHandler):
                logger.removeHandler(handler)
                handler.close()
        # backslashreplace: a message that cannot be encoded is still
        # written (with escapes) instead of being dropped by logging
        self.handler = _MessageHandler(
            self.logfile, backupCount=self.params.get('backupCount', 5),
            encoding='utf-8', errors='backslashreplace')
        self.handler.setFormatter(logging.Formatter(self.logformat))
        logger.addHandler(self.handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False

    def log(self, message):
        """Append a message as one line: line breaks in it are written as
        ``\\n`` and ``\\r``, so that a message cannot forge further lines."""
        message = str(message).replace('\r', '\\r').replace('\n', '\\n')
        logging.getLogger(self.logname).info(message)

    def doRollover(self):
        """Close the file and start a new one, keeping the old as
        ``logfile.1``."""
        handler = self.handler
        if handler is None:
            return
        # under the handler's lock: another thread may be writing
        handler.acquire()
        try:
            handler.doRollover()
        finally:
            handler.release()


class _MessageHandler(logging.handlers.RotatingFileHandler):
    """The file handler of a Logger (maxBytes 0: rotated by doRollover
    only)."""


# The loggers of a process by name, for applications to share them.
loggers = {}
