"""Sign-in routes under the names django-allauth reverses (no namespace): sign in and out, re-authentication
before a security change, and two-factor management (/accounts/2fa/). Sign-up is closed (members join by
invitation); the password reset is ours (apps/accounts/urls.py) under allauth's name for it."""

from allauth.account import views as allauth_views
from django.urls import include, path

from apps.accounts import views

urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="account_login"),
    path("accounts/logout/", allauth_views.logout, name="account_logout"),
    path("accounts/reauthenticate/", allauth_views.reauthenticate, name="account_reauthenticate"),
    path("accounts/inactive/", allauth_views.account_inactive, name="account_inactive"),
    path("accounts/signup/", allauth_views.signup, name="account_signup"),
    path("accounts/password-reset/", views.PasswordResetView.as_view(), name="account_reset_password"),
    path("accounts/2fa/", include("allauth.mfa.urls")),
]
