from django.contrib.auth import views as auth_views
from django.urls import path

from shebao.web import (
    card_views,
    contribution_views,
    ecard_views,
    employer_contrib_views,
    fee_views,
    production_views,
    staff_contrib_views,
    views,
)
from shebao.web.forms import LoginForm

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("search/", views.search, name="search"),
    path("persons/new/", views.person_new, name="person_new"),
    path("persons/<int:person_id>/", views.person_detail, name="person"),
    path("employers/new/", views.employer_new, name="employer_new"),
    path(
        "employers/<int:employer_id>/employments/new/", views.employment_new, name="employment_new"
    ),
    path("employments/<int:employment_id>/end/", views.employment_end, name="employment_end"),
    path("employers/<int:employer_id>/", views.employer_detail, name="employer"),
    path("areas/<str:code>/", views.area_detail, name="area"),
    # Cards: staff pages, then the holder's own.
    path("cards/", card_views.card_list, name="cards"),
    path("cards/queue/", card_views.card_queue, name="card_queue"),
    path("cards/fees/", fee_views.fee_list, name="fees"),
    path("cards/fees/reconciliation/", fee_views.fee_reconciliation, name="fee_reconciliation"),
    path("cards/fees/<int:fee_id>/pay/", fee_views.fee_pay, name="fee_pay"),
    path("cards/fees/<int:fee_id>/waive/", fee_views.fee_waive, name="fee_waive"),
    path("cards/fees/<int:fee_id>/receipt/", fee_views.fee_receipt, name="fee_receipt"),
    # Production and distribution: batches, vendor files, outlet stock, reconciliation.
    path("cards/batches/", production_views.batch_list, name="batches"),
    path("cards/batches/new/", production_views.batch_new, name="batch_new"),
    path("cards/batches/<int:batch_id>/", production_views.batch_detail, name="batch"),
    path(
        "cards/batches/<int:batch_id>/export/", production_views.batch_export, name="batch_export"
    ),
    path(
        "cards/batches/<int:batch_id>/import/", production_views.batch_import, name="batch_import"
    ),
    path("cards/batches/<int:batch_id>/ship/", production_views.batch_ship, name="batch_ship"),
    path(
        "cards/batches/<int:batch_id>/freeze/", production_views.batch_freeze, name="batch_freeze"
    ),
    path(
        "cards/batches/<int:batch_id>/release/",
        production_views.batch_release,
        name="batch_release",
    ),
    path("cards/outlets/", production_views.outlet_list, name="outlets"),
    path(
        "cards/outlets/<int:outlet_id>/stock/", production_views.outlet_stock, name="outlet_stock"
    ),
    path(
        "cards/outlets/<int:outlet_id>/stock/receive/",
        production_views.outlet_receive,
        name="outlet_receive",
    ),
    path(
        "cards/outlets/<int:outlet_id>/stock/count/",
        production_views.outlet_count,
        name="outlet_count",
    ),
    path(
        "cards/outlets/<int:outlet_id>/stock/seal/",
        production_views.outlet_seal,
        name="outlet_seal",
    ),
    path(
        "cards/outlets/<int:outlet_id>/stock/card/",
        production_views.outlet_card,
        name="outlet_card",
    ),
    path("cards/reconciliation/", production_views.reconciliation, name="card_reconciliation"),
    path("cards/<int:card_id>/", card_views.card_detail, name="card"),
    path("cards/<int:card_id>/photo/", card_views.card_photo, name="card_photo"),
    path("cards/<int:card_id>/do/<slug:action>/", card_views.card_action, name="card_action"),
    path("persons/<int:person_id>/cards/new/", card_views.card_apply, name="card_apply"),
    path("my/cards/", card_views.my_cards, name="my_cards"),
    path("my/cards/apply/", card_views.my_card_apply, name="my_card_apply"),
    path("my/cards/<int:card_id>/ecard/claim/", card_views.my_ecard_claim, name="my_ecard_claim"),
    path("my/cards/<int:card_id>/<slug:action>/", card_views.my_card_action, name="my_card_action"),
    # Public: anyone shown an electronic card's code may check it.
    path("verify-ecard/", ecard_views.verify_ecard, name="verify_ecard"),
    path("declarations/", contribution_views.declaration_upload, name="declaration_upload"),
    path(
        "declarations/template/",
        contribution_views.declaration_template,
        name="declaration_template",
    ),
    path(
        "declarations/<int:upload_id>/",
        contribution_views.declaration_upload_result,
        name="declaration_upload_result",
    ),
    path(
        "declarations/<int:upload_id>/errors.csv",
        contribution_views.declaration_upload_errors,
        name="declaration_upload_errors",
    ),
    # Contributions, staff side: policy and billing runs, area arrears, payments,
    # a person's pension estimate.
    path("contributions/", staff_contrib_views.overview, name="contributions"),
    path(
        "contributions/arrears/area/",
        staff_contrib_views.area_arrears,
        name="contribution_area_arrears",
    ),
    path(
        "contributions/payments/new/",
        staff_contrib_views.payment_new,
        name="contribution_payment_new",
    ),
    path("persons/<int:person_id>/pension/", staff_contrib_views.pension, name="person_pension"),
    # An employer's bills, arrears and payments (staff: ?employer=<id>).
    path("contributions/bills/", employer_contrib_views.bill_list, name="contrib_bills"),
    path(
        "contributions/bills/<int:bill_id>/",
        employer_contrib_views.bill_detail,
        name="contrib_bill",
    ),
    path("contributions/arrears/", employer_contrib_views.arrears, name="contrib_arrears"),
    path(
        "contributions/arrears/notice.txt",
        employer_contrib_views.arrears_notice,
        name="contrib_arrears_notice",
    ),
    path("contributions/payments/", employer_contrib_views.payment_list, name="contrib_payments"),
]
