"""Page-number pagination for every API list: `?page=N&page_size=M`, answering {count, next, previous,
results}. Both parameters are checked (issue 15): a page or page size that is not a whole number in
range answers 400 with a stable code instead of being silently replaced by the default (page_size)
or answered 404 (page):

- `page`: a whole number ≥ 1 (or `last`); `invalid_page`, and `page_out_of_range` past the last page;
- `page_size`: a whole number from 1 to 200; `invalid_page_size`.
"""

import re

from rest_framework import pagination
from rest_framework.exceptions import NotFound

from apps.core.errors import QueryParamError

_WHOLE = re.compile(r"[0-9]{1,9}")


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param, "").strip()
        if not raw:
            return self.page_size
        if not _WHOLE.fullmatch(raw) or not 1 <= int(raw) <= self.max_page_size:
            raise QueryParamError("invalid_page_size", self.page_size_query_param,
                                  f"`page_size` must be a whole number from 1 to {self.max_page_size}.")
        return int(raw)

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param, "").strip() or "1"
        if raw in self.last_page_strings:
            return raw
        if not _WHOLE.fullmatch(raw) or int(raw) < 1:
            raise QueryParamError("invalid_page", self.page_query_param, "`page` must be a whole number from 1.")
        return raw

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound as exc:  # DRF's answer to a page past the last one
            raise QueryParamError("page_out_of_range", self.page_query_param, str(exc.detail)) from None

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
                parameter["description"] = "A page number from 1 (400 `invalid_page`; past the last page `page_out_of_range`)."
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
                parameter["description"] = (f"Results per page, 1 to {self.max_page_size} (default {self.page_size}; "
                                            "400 `invalid_page_size` otherwise).")
        return parameters
