"""WhiteNoise serving the static files, with its file index made once per process."""

from whitenoise.middleware import WhiteNoiseMiddleware

_FINDER_INDEXES = {}


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """``whitenoise.middleware.WhiteNoiseMiddleware`` that indexes the finders' files (the apps'
    static folders and the HiGlass client in node_modules/, a few hundred files) once per process
    and prefix instead of once per middleware instance: Django's test client builds the middleware
    for every client, which would otherwise rescan them each time. As with WhiteNoise's default
    (no autorefresh), files added later are seen after a restart."""

    def add_files_from_finders(self):
        index = _FINDER_INDEXES.get(self.static_prefix)
        if index is None:
            before = dict(self.files)
            super().add_files_from_finders()
            index = {url: entry for url, entry in self.files.items() if before.get(url) is not entry}
            _FINDER_INDEXES[self.static_prefix] = index
        self.files.update(index)
