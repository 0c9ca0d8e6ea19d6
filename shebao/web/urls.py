from django.contrib.auth import views as auth_views
from django.urls import path

from shebao.web import (
    approval_views,
    card_views,
    complaint_views,
    consultation_views,
    contribution_views,
    control_views,
    ecard_views,
    emergency_views,
    employer_contrib_views,
    employer_portal_views,
    fee_views,
    flexible_views,
    inquiry_views,
    job_views,
    my_views,
    plans_views,
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
    # Long jobs (files, billing runs): their progress and results.
    path("jobs/", job_views.job_list, name="jobs"),
    path("jobs/<int:job_id>/", job_views.job_detail, name="job"),
    path("jobs/<int:job_id>.json", job_views.job_json, name="job_json"),
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
    # Approval of the issuing area (DOMAIN.md §2): the area's applications, documents,
    # checklist and drills; the ministry's queue, decisions, conditions and overview.
    path("approval/", approval_views.approval_home, name="approval"),
    path("approval/new/", approval_views.application_new, name="approval_new"),
    path("approval/change/", approval_views.area_change, name="approval_change"),
    path("approval/queue/", approval_views.approval_queue, name="approval_queue"),
    path("approval/overview/", approval_views.approval_overview, name="approval_overview"),
    path("approval/conditions/", approval_views.extra_conditions, name="approval_conditions"),
    path(
        "approval/conditions/<int:condition_id>/active/",
        approval_views.extra_condition_toggle,
        name="approval_condition_toggle",
    ),
    path("approval/drills/", approval_views.drills, name="approval_drills"),
    path(
        "approval/documents/<int:document_id>/",
        approval_views.document_download,
        name="approval_document",
    ),
    path(
        "approval/<int:application_id>/",
        approval_views.application_detail,
        name="approval_application",
    ),
    path(
        "approval/<int:application_id>/documents/",
        approval_views.document_new,
        name="approval_document_new",
    ),
    path(
        "approval/<int:application_id>/items/<int:item_id>/",
        approval_views.item_evidence,
        name="approval_item",
    ),
    path(
        "approval/<int:application_id>/submit/",
        approval_views.application_submit,
        name="approval_submit",
    ),
    path(
        "approval/<int:application_id>/withdraw/",
        approval_views.application_withdraw,
        name="approval_withdraw",
    ),
    path(
        "approval/<int:application_id>/decide/",
        approval_views.application_decide,
        name="approval_decide",
    ),
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
        "cards/outlets/<int:outlet_id>/freeze/",
        production_views.outlet_freeze,
        name="outlet_freeze",
    ),
    path(
        "cards/outlets/<int:outlet_id>/release/",
        production_views.outlet_release,
        name="outlet_release",
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
    # The insured person's own records (SIL arts. 4, 74), free of charge.
    path("my/", my_views.home, name="my_home"),
    path("my/contributions/", my_views.contributions, name="my_contributions"),
    path("my/contributions/csv/", my_views.contributions_csv, name="my_contributions_csv"),
    path("my/account/", my_views.account, name="my_account"),
    path("my/pension/", my_views.pension, name="my_pension"),
    path("my/cards/", card_views.my_cards, name="my_cards"),
    path("my/cards/apply/", card_views.my_card_apply, name="my_card_apply"),
    path("my/cards/<int:card_id>/ecard/claim/", card_views.my_ecard_claim, name="my_ecard_claim"),
    path("my/cards/<int:card_id>/<slug:action>/", card_views.my_card_action, name="my_card_action"),
    # Consultation: the public knowledge base, asking, the consultants' queue.
    path("consultation/", consultation_views.knowledge_base, name="consultation"),
    path("consultation/ask/", consultation_views.question_ask, name="question_ask"),
    path("consultation/mine/", consultation_views.my_questions, name="my_questions"),
    path("consultation/queue/", consultation_views.question_queue, name="question_queue"),
    path("consultation/<int:question_id>/", consultation_views.question_detail, name="question"),
    path(
        "consultation/<int:question_id>/answer/",
        consultation_views.question_answer,
        name="question_answer",
    ),
    path(
        "consultation/<int:question_id>/publish/",
        consultation_views.question_publish,
        name="question_publish",
    ),
    path(
        "consultation/<int:question_id>/withdraw/",
        consultation_views.question_withdraw,
        name="question_withdraw",
    ),
    # Public: anyone shown an electronic card's code may check it.
    path("verify-ecard/", ecard_views.verify_ecard, name="verify_ecard"),
    # Rights record statements: the holder's, a person's (staff), the yearly batch,
    # the PDF; public: anyone shown a statement checks its code or its PDF.
    path("my/statements/", inquiry_views.my_statements, name="my_statements"),
    path(
        "persons/<int:person_id>/statements/new/",
        inquiry_views.person_statement_new,
        name="person_statement_new",
    ),
    path("statements/batches/", inquiry_views.statement_batches, name="statement_batches"),
    path("statements/<int:statement_id>/pdf/", inquiry_views.statement_pdf, name="statement_pdf"),
    path("verify/", inquiry_views.verify_form, name="statement_verify_form"),
    path("verify/<str:code>", inquiry_views.verify, name="statement_verify"),
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
    # Flexible workers: enrol, end, pay at the counter (forms on the person page);
    # the insured person's own months.
    path(
        "persons/<int:person_id>/flexible/enrol/",
        flexible_views.flexible_enrol,
        name="flexible_enrol",
    ),
    path(
        "flexible/enrolments/<int:enrolment_id>/end/",
        flexible_views.flexible_end,
        name="flexible_end",
    ),
    path("persons/<int:person_id>/flexible/pay/", flexible_views.flexible_pay, name="flexible_pay"),
    path("my/flexible/", flexible_views.my_flexible, name="my_flexible"),
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
    path(
        "contributions/payments/apply-credit/",
        employer_contrib_views.credit_apply,
        name="contrib_credit_apply",
    ),
    # The employer portal: landing page, employees, the monthly detail owed to each
    # employee (SIL art. 60) as a page, a CSV and printable slips, notices.
    path("employer/", employer_portal_views.dashboard, name="employer_home"),
    path("employer/employees/", employer_portal_views.employees, name="employer_employees"),
    path("employer/detail/", employer_portal_views.month_detail, name="employer_month"),
    path(
        "employer/detail.csv",
        employer_portal_views.month_detail_csv,
        name="employer_month_csv",
    ),
    path("employer/slips/", employer_portal_views.slips, name="employer_slips"),
    path("employer/notices/", employer_portal_views.notices, name="employer_notices"),
    # Supervision and complaints (SIL arts. 4, 82): the person's pages, then staff's.
    path("my/supervision/", complaint_views.my_supervision, name="my_supervision"),
    path("my/complaints/", complaint_views.my_complaints, name="my_complaints"),
    path("my/complaints/new/", complaint_views.my_complaint_new, name="my_complaint_new"),
    path("my/complaints/<int:complaint_id>/", complaint_views.my_complaint, name="my_complaint"),
    path("complaints/", complaint_views.complaint_queue, name="complaints"),
    path("complaints/new/", complaint_views.complaint_new, name="complaint_new"),
    path("complaints/<int:complaint_id>/", complaint_views.complaint_detail, name="complaint"),
    path(
        "complaints/<int:complaint_id>/do/<slug:action>/",
        complaint_views.complaint_action,
        name="complaint_action",
    ),
    path(
        "complaints/<int:complaint_id>/letter/",
        complaint_views.complaint_letter,
        name="complaint_letter",
    ),
    # Internal control (condition d of approval): the auditors' queue, reconciliations,
    # samples of staff actions, audit chain checks and the separation-of-duties rules.
    path("control/", control_views.alert_queue, name="control"),
    path(
        "control/alerts/<int:alert_id>/<slug:action>/",
        control_views.alert_action,
        name="control_alert_action",
    ),
    path(
        "control/reconciliations/",
        control_views.reconciliations,
        name="control_reconciliations",
    ),
    path("control/samples/", control_views.sample_list, name="control_samples"),
    path("control/samples/draw/", control_views.sample_draw, name="control_sample_draw"),
    path("control/samples/<int:sample_id>/", control_views.sample_detail, name="control_sample"),
    path(
        "control/samples/<int:sample_id>/items/<int:item_id>/mark/",
        control_views.sample_mark,
        name="control_sample_mark",
    ),
    path("control/chain/", control_views.chain_checks, name="control_chain"),
    # Staff, equipment and implementation plans (conditions b and c of approval).
    path("plans/", plans_views.overview, name="plans"),
    path("plans/equipment/", plans_views.equipment, name="equipment"),
    path("plans/equipment/counters/new/", plans_views.counter_new, name="counter_new"),
    path("plans/equipment/counters/<int:counter_id>/", plans_views.counter_edit, name="counter"),
    path("plans/equipment/devices/new/", plans_views.device_new, name="device_new"),
    path("plans/equipment/devices/<int:device_id>/", plans_views.device_detail, name="device"),
    path("plans/staff/", plans_views.staff, name="plan_staff"),
    path("plans/<slug:kind>/", plans_views.plan_dashboard, name="plan"),
    path("plans/<slug:kind>/set/", plans_views.plan_set, name="plan_set"),
    # The emergency plan: read-only mode, backups, restores (open in read-only mode).
    path("emergency/", emergency_views.emergency, name="emergency"),
    path("emergency/read-only/enter/", emergency_views.read_only_enter, name="emergency_read_only"),
    path(
        "emergency/read-only/leave/",
        emergency_views.read_only_leave,
        name="emergency_writable",
    ),
    path("emergency/backups/new/", emergency_views.backup_start, name="emergency_backup"),
    path(
        "emergency/backups/<str:name>/verify/",
        emergency_views.backup_verify,
        name="emergency_verify",
    ),
    path(
        "emergency/backups/<str:name>/restore/",
        emergency_views.backup_restore,
        name="emergency_restore",
    ),
]
