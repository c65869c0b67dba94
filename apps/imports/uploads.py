"""An upload handler that stops reading a file part past the import size limit, so an oversized
upload is neither kept in memory nor spooled to disk; the form then says what the limit is."""

from django.core.files.uploadhandler import FileUploadHandler, StopUpload

from apps.imports.models import MAX_FILE_BYTES


class SizeLimitUploadHandler(FileUploadHandler):
    def __init__(self, request=None, limit: int = MAX_FILE_BYTES):
        super().__init__(request)
        self.limit = limit

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.request.upload_too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler (memory or temporary file) builds the file
