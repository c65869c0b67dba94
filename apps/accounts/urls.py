from django.urls import path

from apps.accounts import views
from apps.accounts.sso import views as sso_views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("workspaces/", views.tenant_switch, name="tenant_switch"),
    path("account/sessions/", views.sessions_view, name="sessions"),
    path("account/sessions/end-others/", views.sessions_end_others_view, name="sessions_end_others"),
    path("account/sessions/<uuid:uuid>/end/", views.session_end_view, name="session_end"),
    path("accounts/password-reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("accounts/reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("accounts/reset/done/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("invite/<str:token>/", views.invitation_accept_view, name="invitation_accept"),
    path("accounts/sso/", sso_views.sso_start_view, name="sso_start"),
    path("accounts/sso/callback/", sso_views.sso_callback_view, name="sso_callback"),
]
