package web

import (
	"net/http"

	"countycare/access"
	"countycare/care"
	"countycare/consult"
	"countycare/lab"
	"countycare/online"
	"countycare/reading"
	"countycare/resident"
	"countycare/upload"
)

// registerRoutes is the complete route table. Each route names its
// policy; TestEveryRouteHasAPolicy fails if one does not.
func (s *Server) registerRoutes() {
	pub, anyUser := access.Public(), access.AnyUser()
	staff := access.Allow(access.OrgViewers...)
	admin := access.Allow(care.RoleAdmin)
	readers := access.Allow(access.PatientReaders...)
	registrars := access.Allow(access.Registrars...)
	emergency := access.Allow(care.RoleCountySpecialist, care.RoleReader)
	auditor := access.Allow(care.RoleAuditor)
	self := access.Allow(care.RoleResident)
	aggregates := access.Allow(care.RoleAnalyst, care.RoleTownshipDoctor)

	// Operations and assets.
	s.handle("GET /healthz", pub, s.healthz)
	s.handle("GET /metrics", access.Ops(), s.metricsHandler)
	s.handle("GET /static/{hash}/{file}", pub, s.serveStatic)
	s.handle("GET /lang/{lang}", pub, s.setLang)

	// Sign-in.
	s.handle("GET /login", pub, s.loginPage)
	s.handle("POST /login", pub, s.loginSubmit)
	s.handle("GET /login/code", pub, s.codeLoginPage)
	s.handle("POST /login/code", pub, s.codeRequest)
	s.handle("POST /login/code/verify", pub, s.codeVerify)
	s.handle("GET /reset", pub, s.resetPage)
	s.handle("POST /reset", pub, s.resetSubmit)
	s.handle("POST /logout", anyUser, s.logout)
	s.handle("GET /account/password", anyUser, s.passwordPage)
	s.handle("POST /account/password", anyUser, s.passwordSubmit)
	s.handle("GET /{$}", anyUser, s.home)

	// Organisation.
	s.handle("GET /org", staff, s.orgTree)
	s.handle("GET /org/{id}", staff, s.orgInstitution)
	s.handle("POST /org", admin, s.orgCreate)
	s.handle("POST /org/{id}", admin, s.orgUpdate)
	s.handle("POST /org/{id}/departments", admin, s.departmentCreate)
	s.handle("GET /practitioners/new", admin, s.practitionerNew)
	s.handle("GET /practitioners/{id}/edit", admin, s.practitionerEdit)
	s.handle("POST /practitioners", admin, s.practitionerSave)
	s.handle("POST /practitioners/{id}", admin, s.practitionerSave)
	s.handle("GET /stats", aggregates, s.stats)

	// Residents.
	s.handle("GET /residents", readers, s.residentList)
	s.handle("GET /residents/new", registrars, s.residentNew)
	s.handle("POST /residents", registrars, s.residentCreate)
	s.handle("GET /residents/import", registrars, s.importPage)
	s.handleLimit("POST /residents/import", registrars, resident.MaxImportBytes+64<<10, s.importSubmit)
	s.handle("GET /residents/duplicates", registrars, s.duplicates)
	s.handle("POST /residents/merge", registrars, s.merge)
	s.handle("GET /residents/{id}", readers, s.residentShow)
	s.handle("GET /residents/{id}/edit", registrars, s.residentEdit)
	s.handle("POST /residents/{id}", registrars, s.residentUpdate)
	s.handle("POST /residents/{id}/reveal", readers, s.residentReveal)
	s.handle("GET /households/{id}", readers, s.household)
	s.handle("GET /emergency", emergency, s.emergencyPage)
	s.handle("POST /emergency", emergency, s.emergencySubmit)
	s.handle("GET /me", self, s.me)
	s.handle("GET /me/reports/{id}/preview", self, s.mePreview)
	s.handle("GET /me/hut-qr.svg", access.Allow(care.RoleResident), s.meHutQR)
	s.handle("POST /me/points", self, s.meReport)
	s.handle("POST /me/viewing", self, s.meViewing)
	s.handle("POST /me/proxies", self, s.meProxyGrant)
	s.handle("POST /me/proxies/{gid}/revoke", self, s.meProxyRevoke)
	s.handle("POST /residents/{id}/signin", registrars, s.residentSignin)
	s.handle("POST /residents/{id}/proxies", registrars, s.residentProxyGrant)
	s.handle("POST /residents/{id}/proxies/{gid}/revoke", registrars, s.residentProxyRevoke)
	s.handle("POST /residents/{id}/points/redeem", registrars, s.pointsRedeem)

	// Chronic disease management.
	chronicCare := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist)
	s.handle("POST /residents/{id}/chronic", chronicCare, s.chronicEnroll)
	s.handle("GET /chronic/overdue", registrars, s.chronicOverdue)
	s.handle("GET /chronic/board", registrars, s.chronicBoard)
	chronicReports := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist, care.RoleAnalyst)
	s.handle("GET /chronic/indicators", chronicReports, s.chronicIndicators)
	s.handle("GET /chronic/handoffs", chronicCare, s.chronicHandoffs)
	s.handle("POST /chronic/handoffs/{id}/ack", chronicCare, s.chronicAck)
	s.handle("GET /chronic/{id}", chronicCare, s.chronicShow)
	s.handle("POST /chronic/{id}/visits", chronicCare, s.chronicVisit)
	s.handle("POST /chronic/{id}/status", chronicCare, s.chronicStatus)
	s.handle("POST /chronic/{id}/calls", registrars, s.chronicCall)
	s.handle("POST /chronic/reminders", registrars, s.chronicRemind)

	// ECG reading: village and township doctors send their residents' ECGs
	// (pre-read at once); readers of a diagnosis center work the worklist.
	ecgSenders := registrars
	ecgReaders := access.Allow(care.RoleReader)
	s.handle("GET /residents/{id}/ecg", ecgSenders, s.ecgUploadPage)
	s.handleLimit("POST /residents/{id}/ecg", ecgSenders, reading.MaxECGBytes+1<<20, s.ecgUploadSubmit)
	s.handle("GET /ecg/worklist", ecgReaders, s.ecgWorklistMoved) // the reading worklist's ECG view replaced it

	// Reading workflow: readers of a diagnosis center work the worklists
	// and sign reports (the service checks the study is their center's);
	// doctors of the ordering clinic read their studies' reports; readers
	// and analysts (the health commission) see the indicators.
	readingStaff := access.Allow(care.RoleReader)
	studyViewers := access.Allow(care.RoleReader, care.RoleVillageDoctor, care.RoleTownshipDoctor)
	clinicDoctors := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor)
	readingReports := access.Allow(care.RoleReader, care.RoleAnalyst)
	s.handle("GET /reading/worklist", readingStaff, s.readingWorklist)
	s.handle("GET /reading/returned", clinicDoctors, s.readingReturned)
	s.handle("GET /reading/indicators", readingReports, s.readingIndicators)
	s.handle("GET /reading/studies/{id}", studyViewers, s.readingStudy)
	s.handle("POST /reading/studies/{id}/{action}", readingStaff, s.readingAct)
	s.handle("GET /api/v1/reading/worklist", readingStaff, s.apiReadingWorklist)
	s.handle("GET /api/v1/reading/templates", readingStaff, s.apiReadingTemplates)
	s.handle("GET /api/v1/reading/returned", clinicDoctors, s.apiReadingReturned)
	s.handle("GET /api/v1/reading/indicators", readingReports, s.apiReadingIndicators)
	s.handle("GET /api/v1/reading/studies/{id}", studyViewers, s.apiReadingStudyGet)
	s.handle("POST /api/v1/reading/studies/{id}/{action}", readingStaff, s.apiReadingAct)

	// Family doctor contracts: village and township doctors sign and record
	// for their own residents; administrators and township doctors manage
	// teams (a township doctor those of their center and its villages);
	// analysts and township doctors read aggregate indicators.
	familyCare := registrars
	teamViewers := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleAdmin)
	teamAdmins := access.Allow(care.RoleTownshipDoctor, care.RoleAdmin)
	s.handle("POST /residents/{id}/family/contracts", familyCare, s.familySign)
	s.handle("POST /residents/{id}/family/services", familyCare, s.familyService)
	s.handle("POST /family/contracts/{id}/renew", familyCare, s.familyRenew)
	s.handle("POST /family/contracts/{id}/switch", familyCare, s.familySwitch)
	s.handle("POST /family/contracts/{id}/end", familyCare, s.familyEnd)
	s.handle("GET /family/shortfall", familyCare, s.familyShortfall)
	s.handle("GET /family/indicators", aggregates, s.familyIndicators)
	// The county dashboard (一张图): the county for analysts, a township for its staff.
	s.handle("GET /dashboard", aggregates, s.dashboard)
	s.handle("GET /dashboard/units/{id}", aggregates, s.dashboard)
	s.handle("GET /dashboard/units/{id}/records", aggregates, s.dashboardRecords)
	s.handle("GET /dashboard/units/{id}/records/export", aggregates, s.dashboardRecordsExport)
	s.handle("GET /dashboard/groups/{group}", aggregates, s.dashboardGroup)
	s.handle("GET /api/v1/dashboard/trend", aggregates, s.apiDashboardTrend)
	s.handle("GET /dashboard/export", aggregates, s.dashboardExport)
	s.handle("GET /dashboard/report.pdf", aggregates, s.dashboardReport)
	// The performance appraisal (绩效考核): the same scopes as the dashboard.
	s.handle("GET /appraisal", aggregates, s.appraisalPage)
	s.handle("GET /appraisal/units/{id}", aggregates, s.appraisalPage)
	s.handle("GET /api/v1/appraisal", aggregates, s.apiAppraisal)
	s.handle("GET /appraisal/export.csv", aggregates, s.appraisalExport)
	s.handle("GET /appraisal/export.xlsx", aggregates, s.appraisalExportXLSX)
	// Resident surveys: the linked survey needs no sign-in (the signed,
	// single-use link is the credential); a resident's own on /me; results
	// (aggregates of at least the minimum count) for the staff concerned.
	// Without a survey service they answer 404.
	s.handle("GET /s", pub, s.surveysOn(s.surveyPage))
	s.handle("POST /s", pub, s.surveysOn(s.surveySubmit))
	s.handle("GET /me/surveys/{id}", access.Allow(care.RoleResident), s.surveysOn(s.mySurvey))
	s.handle("POST /me/surveys/{id}", access.Allow(care.RoleResident), s.surveysOn(s.mySurveySubmit))
	s.handle("GET /surveys/results", access.Allow(care.RoleAnalyst, care.RoleTownshipDoctor, care.RoleVillageDoctor, care.RoleCountySpecialist), s.surveysOn(s.surveyResults))
	s.handle("GET /family/teams", teamViewers, s.familyTeams)
	s.handle("GET /family/teams/new", teamAdmins, s.familyTeamNew)
	s.handle("POST /family/teams", teamAdmins, s.familyTeamSave)
	s.handle("GET /family/teams/{id}", teamAdmins, s.familyTeamEdit)
	s.handle("POST /family/teams/{id}", teamAdmins, s.familyTeamSave)

	// Remote consultation: village and township doctors ask; the hub's
	// specialists answer; department heads keep the duty roster.
	inviters := registrars
	parties := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist)
	hub := access.Allow(care.RoleCountySpecialist)
	s.handle("GET /events", parties, s.events)
	s.handle("GET /consult", parties, s.consultList)
	s.handle("GET /consult/new", inviters, s.consultNew)
	s.handle("POST /consult", inviters, s.consultCreate)
	consultReports := access.Allow(care.RoleAnalyst, care.RoleCountySpecialist, care.RoleTownshipDoctor)
	s.handle("GET /consult/indicators", consultReports, s.consultIndicators)
	s.handle("GET /consult/roster", hub, s.consultRoster)
	s.handle("POST /consult/roster", hub, s.consultSlotAdd)
	s.handle("POST /consult/roster/{id}/delete", hub, s.consultSlotDelete)
	s.handle("GET /consult/{id}", parties, s.consultShow)
	s.handle("POST /consult/{id}/accept", hub, s.consultAccept)
	s.handle("POST /consult/{id}/decline", hub, s.consultDecline)
	s.handle("POST /consult/{id}/opinion", hub, s.consultOpinion)
	s.handle("POST /consult/{id}/decision", inviters, s.consultDecide)
	s.handle("POST /consult/{id}/cancel", inviters, s.consultCancel)
	s.handle("POST /consult/{id}/refer", inviters, s.consultRefer)
	s.handle("POST /consult/{id}/sessions", parties, s.consultSession)
	s.handleLimit("POST /consult/{id}/messages", parties, 5*(20<<20)+(1<<20), s.consultMessage)
	s.handle("GET /consult/{id}/files/{sha}", parties, s.consultFile)
	s.handleLimit("POST /consult/{id}/signal", parties, 4*consult.MaxSignalPayload, s.consultSignal)
	// Two-way referral: village, township and county doctors send and
	// receive (the service checks which side of each referral they are on);
	// county specialists and township doctors write down-referrals;
	// analysts, county specialists and township doctors read indicators.
	referralCare := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist)
	referralDown := access.Allow(care.RoleCountySpecialist, care.RoleTownshipDoctor)
	referralReports := access.Allow(care.RoleAnalyst, care.RoleCountySpecialist, care.RoleTownshipDoctor)
	s.handle("GET /residents/{id}/referrals/new", referralCare, s.referralNew)
	s.handle("POST /residents/{id}/referrals", referralCare, s.referralCreate)
	s.handle("GET /referrals", referralCare, s.referralSent)
	s.handle("GET /referrals/incoming", referralCare, s.referralIncoming)
	s.handle("GET /referrals/tasks", referralCare, s.referralTasks)
	s.handle("GET /referrals/indicators", referralReports, s.referralIndicators)
	s.handle("GET /referrals/down/new", referralDown, s.referralDownNew)
	s.handle("POST /referrals/down", referralDown, s.referralDownCreate)
	s.handle("GET /referrals/{id}", referralCare, s.referralShow)
	s.handle("POST /referrals/{id}/{action}", referralCare, s.referralAct)

	// One-stop settlement (insurance office), the patient's own view, aggregate reports.
	cashier := access.Allow(care.RoleInsuranceOfficer)
	eobReaders := access.Allow(care.RoleInsuranceOfficer, care.RoleResident)
	reports := access.Allow(care.RoleInsuranceOfficer, care.RoleAnalyst)
	s.handle("GET /settlement", cashier, s.settleHome)
	s.handle("GET /settlement/new", cashier, s.settleNew)
	s.handle("POST /settlement/preview", cashier, s.settlePreview)
	s.handle("POST /settlement", cashier, s.settleSubmit)
	s.handle("POST /settlement/admissions", cashier, s.admit)
	s.handle("POST /settlement/certifications", cashier, s.certCreate)
	s.handle("POST /settlement/certifications/{id}/end", cashier, s.certEnd)
	s.handle("GET /settlements/{id}", eobReaders, s.settlementShow)
	s.handle("GET /settlements/{id}/pdf", eobReaders, s.settlementPDF)
	s.handle("GET /settlements/{id}/correct", cashier, s.settleCorrect)
	s.handle("POST /settlements/{id}/reverse", cashier, s.settlementReverse)
	s.handle("GET /settle/policies", cashier, s.policiesPage)
	s.handleLimit("POST /settle/policies", cashier, 2<<20, s.policyUpload)
	// The watch on households falling back into poverty through illness (povertywatch).
	s.handle("GET /poverty-watch", cashier, s.povertyWatchPage)
	s.handle("GET /poverty-watch/export.csv", cashier, s.povertyExport)
	s.handle("GET /poverty-watch/export.xlsx", cashier, s.povertyExportXLSX)
	s.handle("GET /poverty-watch/bottom-line", cashier, s.bottomLinePage)
	s.handle("GET /poverty-watch/special", cashier, s.specialPage)
	s.handle("POST /poverty-watch/special", cashier, s.specialEnrol)
	s.handle("POST /poverty-watch/special/{id}/{step}", cashier, s.specialStep)
	s.handle("GET /poverty-watch/households/{id}", cashier, s.povertyHouseholdPage)
	s.handle("POST /poverty-watch/households/{id}/income", cashier, s.povertyIncome)
	s.handle("POST /poverty-watch/households/{id}/actions", cashier, s.povertyAction)
	s.handle("GET /receivables", cashier, s.receivablesPage)
	s.handle("POST /receivables/{id}/payments", cashier, s.receivablePay)
	s.handle("POST /receivables/{id}/instalments", cashier, s.receivableInstalments)
	s.handle("GET /settle/reports", reports, s.settleReports)
	s.handle("POST /settle/budgets", cashier, s.setBudget)

	// Prescription review (CDS Hooks): prescribers and review pharmacists.
	prescribers := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist, care.RolePharmacist)
	s.handle("GET /api/v1/cds-services", prescribers, s.cdsDiscovery)
	s.handle("POST /api/v1/cds-services/rx-review", prescribers, s.cdsRxReview)
	// Signed prescriptions: clinicians sign, county pharmacists review,
	// pharmacists and clinic doctors dispense reviewed ones.
	signers := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist)
	pharmacist := access.Allow(care.RolePharmacist)
	dispensers := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RolePharmacist)
	s.handle("POST /api/v1/residents/{id}/prescriptions", signers, s.apiRxSign)
	s.handle("GET /api/v1/prescriptions/{id}", prescribers, s.apiRxGet)
	s.handle("GET /api/v1/prescriptions/queue", pharmacist, s.apiRxQueue)
	s.handle("GET /api/v1/prescriptions/indicators", access.Allow(care.RolePharmacist, care.RoleAnalyst), s.apiRxIndicators)
	s.handle("POST /api/v1/prescriptions/{id}/decision", pharmacist, s.apiRxDecide)
	s.handle("POST /api/v1/prescriptions/{id}/dispense", dispensers, s.apiDispense)
	s.handle("GET /rx/queue", pharmacist, s.rxQueue)
	s.handle("POST /rx/{id}/decision", pharmacist, s.rxDecision)

	// The prescriber's page (sign through a form, review before signing)
	// and the formulary search.
	s.handle("GET /residents/{id}/rx/new", signers, s.rxNew)
	s.handle("POST /residents/{id}/rx", signers, s.rxSubmit)
	s.handle("POST /api/v1/residents/{id}/prescriptions/review", signers, s.apiRxReview)
	s.handle("GET /api/v1/formulary", prescribers, s.apiFormulary)

	// Online follow-up visits (互联网复诊): residents book for themselves,
	// village and township doctors for their residents and run the visits
	// (the service checks scope, the step-up session and the visit state).
	onlineParties := access.Allow(care.RoleResident, care.RoleVillageDoctor, care.RoleTownshipDoctor)
	onlineDoctors := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor)
	s.handle("GET /online", onlineParties, s.onlineList)
	s.handle("POST /online", onlineParties, s.onlineBook)
	s.handle("GET /online/{id}", onlineParties, s.onlineShow)
	s.handle("POST /online/{id}/start", onlineDoctors, s.onlineStart)
	s.handleLimit("POST /online/{id}/messages", onlineParties, online.MaxImageBytes+(1<<20), s.onlineMessage)
	s.handle("GET /online/{id}/images/{sha}", onlineParties, s.onlineImage)
	s.handle("POST /online/{id}/end", onlineDoctors, s.onlineEnd)
	s.handleLimit("POST /online/{id}/signal", onlineParties, 4*consult.MaxSignalPayload, s.onlineSignal)
	s.handle("GET /online/{id}/events", access.Allow(care.RoleResident), s.onlineEvents)
	s.handle("GET /online/{id}/rx", onlineDoctors, s.onlineRxNew)
	s.handle("POST /online/{id}/rx", onlineDoctors, s.onlineRxSubmit)
	s.handle("GET /api/v1/online/visits", onlineParties, s.apiOnlineList)
	s.handle("POST /api/v1/online/visits", onlineParties, s.apiOnlineBook)
	s.handle("GET /api/v1/online/visits/{id}", onlineParties, s.apiOnlineGet)
	s.handle("POST /api/v1/online/visits/{id}/start", onlineDoctors, s.apiOnlineStart)
	s.handle("GET /api/v1/online/visits/{id}/messages", onlineParties, s.apiOnlineMessages)
	s.handleLimit("POST /api/v1/online/visits/{id}/messages", onlineParties, online.MaxImageBytes/3*4+(1<<20), s.apiOnlineSend)
	s.handle("POST /api/v1/online/visits/{id}/end", onlineDoctors, s.apiOnlineEnd)
	s.handle("POST /api/v1/online/visits/{id}/prescriptions", onlineDoctors, s.apiOnlinePrescribe)
	s.handle("GET /api/v1/residents/{id}/online/conditions", onlineParties, s.apiOnlineConditions)
	// Pharmacy (issue #7, branch rxstock): formulary, stock, supply orders
	// to the county, dispensing from stock, delivery or pick-up. Clinic
	// doctors act for their own institution; county pharmacists approve
	// and ship supply orders; residents see their own orders.
	stockKeepers := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RolePharmacist)
	s.handle("GET /api/v1/pharmacy/formulary", prescribers, s.apiPharmacyFormulary)
	s.handle("GET /api/v1/pharmacy/stock", stockKeepers, s.apiStock)
	s.handle("POST /api/v1/pharmacy/stock/movements", stockKeepers, s.apiStockMove)
	s.handle("POST /api/v1/pharmacy/thresholds", stockKeepers, s.apiThreshold)
	s.handle("POST /api/v1/pharmacy/alerts", stockKeepers, s.apiLowStockAlerts)
	s.handle("GET /api/v1/supply-orders", stockKeepers, s.apiOrders)
	s.handle("POST /api/v1/supply-orders", stockKeepers, s.apiOrderCreate)
	s.handle("GET /api/v1/supply-orders/{id}", stockKeepers, s.apiOrderGet)
	s.handle("POST /api/v1/supply-orders/{id}/{action}", stockKeepers, s.apiOrderAct)
	s.handle("GET /api/v1/prescriptions/{id}/fulfilment", access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RolePharmacist, care.RoleResident), s.apiFulfilmentGet)
	s.handle("POST /api/v1/prescriptions/{id}/fulfilment", stockKeepers, s.apiFulfilmentAdvance)
	s.handle("GET /api/v1/me/orders", access.Allow(care.RoleResident), s.apiMyOrders)
	s.handle("GET /pharmacy/stock", stockKeepers, s.stockPage)
	s.handle("POST /pharmacy/stock/movements", stockKeepers, s.stockMove)
	s.handle("POST /pharmacy/thresholds", stockKeepers, s.stockThreshold)
	s.handle("POST /pharmacy/alerts", stockKeepers, s.stockAlerts)
	s.handle("GET /pharmacy/orders", stockKeepers, s.ordersPage)
	s.handle("POST /pharmacy/orders", stockKeepers, s.orderCreate)
	s.handle("GET /pharmacy/orders/{id}", stockKeepers, s.orderPage)
	s.handle("POST /pharmacy/orders/{id}/{action}", stockKeepers, s.orderAct)
	s.handle("GET /pharmacy/dispensing", stockKeepers, s.dispensingPage)
	s.handle("POST /pharmacy/dispense", stockKeepers, s.dispenseForm)
	s.handle("POST /pharmacy/fulfilments/{id}", stockKeepers, s.fulfilForm)
	s.handle("GET /me/orders", access.Allow(care.RoleResident), s.myOrdersPage)

	// Administration and audit.
	s.handle("GET /admin/accounts", admin, s.accountsPage)
	s.handle("POST /admin/accounts", admin, s.accountCreate)
	s.handle("POST /admin/accounts/{id}/disable", admin, s.accountDisable)
	s.handle("POST /admin/accounts/{id}/enable", admin, s.accountEnable)
	s.handle("POST /admin/accounts/{id}/password", admin, s.accountReset)
	s.handle("POST /admin/accounts/{id}/reset-request", admin, s.accountResetRequest)
	s.handle("POST /admin/resets/{id}/approve", admin, s.accountResetApprove)
	s.handle("GET /audit", auditor, s.auditPage)
	s.handle("POST /audit/verify", auditor, s.auditVerify)

	// JSON API.
	s.handle("POST /api/v1/session", pub, s.apiLogin)
	s.handle("DELETE /api/v1/session", anyUser, s.apiLogout)
	s.handle("GET /api/v1/me", anyUser, s.apiMe)
	s.handle("GET /api/v1/institutions", staff, s.apiInstitutions)
	s.handle("GET /api/v1/institutions/{id}", staff, s.apiInstitution)
	s.handle("POST /api/v1/institutions", admin, s.apiInstitutionCreate)
	s.handle("GET /api/v1/practitioners", staff, s.apiPractitioners)
	s.handle("POST /api/v1/practitioners", admin, s.apiPractitionerCreate)
	s.handle("GET /api/v1/residents", readers, s.apiResidentSearch)
	s.handle("POST /api/v1/residents", registrars, s.apiResidentCreate)
	s.handleLimit("POST /api/v1/residents/import", registrars, resident.MaxImportBytes, s.apiImport)
	s.handle("GET /api/v1/residents/duplicates", registrars, s.apiDuplicates)
	s.handle("POST /api/v1/residents/merge", registrars, s.apiMerge)
	s.handle("GET /api/v1/residents/export", registrars, s.apiExport)
	s.handle("GET /api/v1/residents/{id}", readers, s.apiResident)
	s.handle("PUT /api/v1/residents/{id}", registrars, s.apiResidentUpdate)
	s.handle("POST /api/v1/residents/{id}/reveal-id", readers, s.apiRevealID)
	s.handle("GET /api/v1/households/{id}", readers, s.apiHousehold)
	s.handle("POST /api/v1/emergency-access", emergency, s.apiEmergency)
	s.handle("GET /api/v1/audit", auditor, s.apiAudit)
	s.handle("POST /api/v1/settlements/preview", cashier, s.apiSettlePreview)
	s.handle("POST /api/v1/settlements", cashier, s.apiSettle)
	s.handle("GET /api/v1/settlements/{id}", eobReaders, s.apiSettlementGet)
	s.handle("POST /api/v1/settlements/{id}/reverse", cashier, s.apiSettlementReverse)
	s.handle("GET /api/v1/residents/{id}/settlements", eobReaders, s.apiResidentSettlements)
	s.handle("GET /api/v1/residents/{id}/chronic-certifications", cashier, s.apiCerts)
	s.handle("POST /api/v1/residents/{id}/chronic-certifications", cashier, s.apiCertCreate)
	s.handle("POST /api/v1/chronic-certifications/{id}/end", cashier, s.apiCertEnd)
	s.handle("GET /api/v1/settle/policies", cashier, s.apiPolicies)
	s.handleLimit("POST /api/v1/settle/policies", cashier, 2<<20, s.apiPolicyUpload)
	s.handle("GET /api/v1/settle/reports", reports, s.apiSettleReports)
	s.handle("POST /api/v1/admissions", cashier, s.apiAdmit)
	s.handle("POST /api/v1/receivables/{id}/payments", cashier, s.apiPay)
	s.handle("GET /api/v1/poverty-watch", cashier, s.apiPovertyWatch)
	s.handle("GET /api/v1/poverty-watch/bottom-line", cashier, s.apiBottomLine)
	s.handle("GET /api/v1/poverty-watch/special", cashier, s.apiSpecial)
	s.handle("POST /api/v1/poverty-watch/special", cashier, s.apiSpecialEnrol)
	s.handle("POST /api/v1/poverty-watch/special/{id}/{step}", cashier, s.apiSpecialStep)
	s.handle("GET /api/v1/poverty-watch/households/{id}", cashier, s.apiPovertyHousehold)
	s.handle("POST /api/v1/poverty-watch/households/{id}/actions", cashier, s.apiPovertyAction)
	s.handle("PUT /api/v1/poverty-watch/households/{id}/income", cashier, s.apiPovertyIncome)
	s.handle("GET /api/v1/stats/population", aggregates, s.apiStats)
	s.handle("GET /api/v1/residents/{id}/chronic", chronicCare, s.apiChronicOf)
	s.handle("POST /api/v1/residents/{id}/chronic", chronicCare, s.apiChronicEnroll)
	s.handle("GET /api/v1/chronic/overdue", registrars, s.apiChronicOverdue)
	// The offline village app's sync: a village doctor's device only
	// (docs/village-app.md). A push carries up to villagesync's MaxBatch changes.
	villageDoctor := access.Allow(care.RoleVillageDoctor)
	s.handle("GET /api/v1/sync/pull", villageDoctor, s.apiSyncPull)
	s.handleLimit("POST /api/v1/sync/push", villageDoctor, 4<<20, s.apiSyncPush)
	s.handle("GET /village/app", villageDoctor, s.villageApp)
	s.handle("GET /village/sw.js", pub, s.villageSW)
	s.handle("GET /village/manifest.webmanifest", pub, s.villageManifest)
	s.handle("POST /api/v1/chronic/reminders", registrars, s.apiChronicRemind)
	s.handle("GET /api/v1/chronic/indicators", chronicReports, s.apiChronicIndicators)
	s.handle("GET /api/v1/chronic/{id}", chronicCare, s.apiChronicGet)
	s.handle("POST /api/v1/chronic/{id}/visits", chronicCare, s.apiChronicVisit)
	s.handle("POST /api/v1/chronic/{id}/calls", registrars, s.apiChronicCall)
	s.handle("GET /api/v1/family/teams", teamViewers, s.apiFamilyTeams)
	s.handle("GET /api/v1/family/packages", teamViewers, s.apiFamilyPackages)
	s.handle("POST /api/v1/family/packages", admin, s.apiFamilyPackageCreate)
	s.handle("GET /api/v1/residents/{id}/family", familyCare, s.apiFamilyPanel)
	s.handle("POST /api/v1/residents/{id}/family/contracts", familyCare, s.apiFamilySign)
	s.handle("POST /api/v1/residents/{id}/family/services", familyCare, s.apiFamilyService)
	s.handle("POST /api/v1/family/contracts/{id}/renew", familyCare, s.apiFamilyRenew)
	s.handle("POST /api/v1/family/contracts/{id}/switch", familyCare, s.apiFamilySwitch)
	s.handle("POST /api/v1/family/contracts/{id}/end", familyCare, s.apiFamilyEnd)
	s.handle("GET /api/v1/family/indicators", aggregates, s.apiFamilyIndicators)
	s.handleLimit("POST /api/v1/residents/{id}/ecg", ecgSenders, reading.MaxECGBytes/3*4+1<<20, s.apiECGUpload)
	s.handle("GET /api/v1/ecg/worklist", ecgReaders, s.apiECGWorklist)
	s.handle("POST /api/v1/referrals", referralCare, s.apiReferralCreate)
	s.handle("GET /api/v1/referrals", referralCare, s.apiReferrals)
	s.handle("GET /api/v1/referrals/indicators", referralReports, s.apiReferralIndicators)
	s.handle("POST /api/v1/referrals/down", referralDown, s.apiReferralDown)
	s.handle("GET /api/v1/referrals/{id}", referralCare, s.apiReferralGet)
	s.handle("POST /api/v1/referrals/{id}/{action}", referralCare, s.apiReferralAct)
	s.handle("GET /api/v1/me/points", self, s.apiMyPoints)
	s.handle("POST /api/v1/me/points", self, s.apiMyPointsReport)
	s.handle("GET /api/v1/residents/{id}/points", registrars, s.apiResidentPoints)

	s.handle("POST /api/v1/consultations", inviters, s.apiConsultCreate)
	s.handle("GET /api/v1/consultations", parties, s.apiConsultList)
	s.handle("GET /api/v1/consultations/indicators", consultReports, s.apiConsultIndicators)
	s.handle("GET /api/v1/consultations/{id}", parties, s.apiConsultGet)
	s.handleLimit("POST /api/v1/consultations/{id}/signal", parties, 4*consult.MaxSignalPayload, s.consultSignal)
	s.handle("POST /api/v1/consultations/{id}/{action}", parties, s.apiConsultDo)

	// Lab results, clinic photos, fetal heart traces and critical values
	// (issue #5): clinicians read a resident's results and exams in their
	// scope; village, township and county doctors record results; village
	// and township doctors send photos and traces; the clinical staff of an
	// alerted institution see and acknowledge critical values; analysts
	// read the acknowledgement-time indicator.
	labViewers := access.Allow(access.Clinicians...)
	labRecorders := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist)
	criticalUsers := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist, care.RoleReader)
	criticalReports := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist, care.RoleReader, care.RoleAnalyst)
	s.handle("GET /residents/{id}/labs", labViewers, s.labsPage)
	s.handle("POST /residents/{id}/labs", labRecorders, s.labsSubmit)
	s.handleLimit("POST /residents/{id}/labs/import", labRecorders, lab.MaxImportBytes+64<<10, s.labsImport)
	s.handle("GET /residents/{id}/exams", labViewers, s.examsPage)
	s.handleLimit("POST /residents/{id}/photos", registrars, reading.MaxPhotoBytes+1<<20, s.photoSubmit)
	s.handleLimit("POST /residents/{id}/fetal", registrars, reading.MaxFetalBytes+1<<20, s.fetalSubmit)
	s.handle("GET /photos/{id}", labViewers, s.photoFile)
	s.handle("GET /fetal/{id}", labViewers, s.fetalPage)
	s.handle("GET /critical", criticalUsers, s.criticalList)
	s.handle("POST /critical/{id}/ack", criticalUsers, s.criticalAck)
	s.handle("GET /critical/indicators", criticalReports, s.criticalIndicators)
	s.handle("GET /api/v1/residents/{id}/labs", labViewers, s.apiLabs)
	s.handleLimit("POST /api/v1/residents/{id}/labs", labRecorders, 1<<20, s.apiLabsRecord)
	s.handleLimit("POST /api/v1/residents/{id}/labs/import", labRecorders, lab.MaxImportBytes, s.apiLabsImport)
	s.handle("GET /api/v1/residents/{id}/exams", labViewers, s.apiExams)
	s.handleLimit("POST /api/v1/residents/{id}/photos", registrars, reading.MaxPhotoBytes/3*4+1<<20, s.apiPhotoUpload)
	s.handleLimit("POST /api/v1/residents/{id}/fetal", registrars, reading.MaxFetalBytes/3*4+1<<20, s.apiFetalUpload)
	s.handle("GET /api/v1/fetal/{id}", labViewers, s.apiFetal)
	s.handle("GET /api/v1/critical-alerts", criticalUsers, s.apiCriticalList)
	s.handle("GET /api/v1/critical-alerts/indicators", criticalReports, s.apiCriticalIndicators)
	s.handle("GET /api/v1/critical-alerts/{id}", criticalUsers, s.apiCriticalGet)
	s.handle("POST /api/v1/critical-alerts/{id}/ack", criticalUsers, s.apiCriticalAck)
	// Specimens from villages to the county lab (issue 17): village and
	// township doctors order, collect, pack and hand over; the lab's
	// readers (a diagnosis center) receive, reject and file results; both
	// see their board; the analysts see the indicators too. The service
	// checks the specimen is the actor's clinic's or lab's.
	specimenClinics := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor)
	specimenLab := access.Allow(care.RoleReader)
	specimenUsers := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleReader)
	specimenReports := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleReader, care.RoleAnalyst)
	s.handle("GET /specimens", specimenUsers, s.specimensPage)
	s.handle("GET /specimens/indicators", specimenReports, s.specimenIndicators)
	s.handle("POST /specimens/scan", specimenUsers, s.specimensScan)
	s.handle("POST /specimens/boxes", specimenClinics, s.specimensPack)
	s.handle("POST /specimens/boxes/{id}/hand-over", specimenClinics, s.specimensHandOver)
	s.handle("GET /specimens/boxes/{id}/label.svg", specimenUsers, s.specimenBoxLabel)
	s.handle("GET /specimens/{id}", specimenUsers, s.specimenPage)
	s.handle("GET /specimens/{id}/label.svg", specimenUsers, s.specimenLabel)
	s.handle("POST /specimens/{id}/results", specimenLab, s.specimenResults)
	s.handle("GET /residents/{id}/specimens", specimenClinics, s.specimenOrderPage)
	s.handle("POST /residents/{id}/specimens", specimenClinics, s.specimenOrderSubmit)
	s.handle("GET /api/v1/specimens", specimenUsers, s.apiSpecimens)
	s.handle("GET /api/v1/specimens/indicators", specimenReports, s.apiSpecimenIndicators)
	s.handle("POST /api/v1/specimens/scan", specimenUsers, s.apiSpecimenScan)
	s.handle("POST /api/v1/specimens/boxes", specimenClinics, s.apiSpecimenPack)
	s.handle("POST /api/v1/specimens/boxes/{id}/hand-over", specimenClinics, s.apiSpecimenHandOver)
	s.handle("GET /api/v1/specimens/{id}", specimenUsers, s.apiSpecimen)
	s.handle("POST /api/v1/specimens/{id}/results", specimenLab, s.apiSpecimenResults)
	s.handle("POST /api/v1/residents/{id}/specimens", specimenClinics, s.apiSpecimenOrder)
	// Maternal and child health (issue 17): village doctors and township
	// staff register pregnancies and children and record their visits and
	// checks; a county specialist (the county's MCH hospital) reads a
	// record through its care link and sees the county's orange and red
	// pregnancies; the services check each record's resident is in scope.
	mchLocal := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor)
	mchStaff := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist)
	s.handle("GET /mch", mchStaff, s.mchList)
	s.handle("GET /residents/{id}/mch", mchStaff, s.mchPage)
	s.handle("POST /residents/{id}/pregnancies", mchLocal, s.mchRegister)
	s.handle("POST /pregnancies/{id}/visits", mchLocal, s.mchVisit)
	s.handle("POST /pregnancies/{id}/delivery", mchLocal, s.mchDelivery)
	s.handle("POST /residents/{id}/child", mchLocal, s.mchChild)
	s.handle("POST /children/{id}/checks", mchLocal, s.mchCheck)
	s.handle("GET /api/v1/mch/overdue", mchStaff, s.apiMCHList)
	s.handle("GET /api/v1/residents/{id}/mch", mchStaff, s.apiMCHResident)
	s.handle("POST /api/v1/residents/{id}/pregnancies", mchLocal, s.apiMCHRegister)
	s.handle("POST /api/v1/pregnancies/{id}/visits", mchLocal, s.apiMCHVisit)
	s.handle("POST /api/v1/pregnancies/{id}/delivery", mchLocal, s.apiMCHDelivery)
	s.handle("POST /api/v1/residents/{id}/child", mchLocal, s.apiMCHChild)
	s.handle("POST /api/v1/children/{id}/checks", mchLocal, s.apiMCHCheck)
	// Household screening for the "2+3" diseases (issue 17): a township
	// plans campaigns over its villages and confirms or rules out the
	// suspected cases routed to it; village doctors record measurements of
	// their village's residents; the service checks each campaign, case and
	// resident is in the actor's scope (404 otherwise, audited).
	screenStaff := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor)
	screenTownship := access.Allow(care.RoleTownshipDoctor)
	screenVillage := access.Allow(care.RoleVillageDoctor)
	s.handle("GET /screening", screenStaff, s.screeningPage)
	s.handle("POST /screening/campaigns", screenTownship, s.screeningPlan)
	s.handle("GET /screening/campaigns/{id}", screenStaff, s.screeningCampaign)
	s.handle("GET /screening/follow-ups", screenTownship, s.screeningFollowUps)
	s.handle("POST /screening/cases/{id}/confirm", screenTownship, s.screeningClose(true))
	s.handle("POST /screening/cases/{id}/rule-out", screenTownship, s.screeningClose(false))
	s.handle("GET /residents/{id}/screening", screenStaff, s.screeningResident)
	s.handle("POST /residents/{id}/screening", screenVillage, s.screeningRecord)
	s.handle("GET /api/v1/screening/campaigns", screenStaff, s.apiScreeningCampaigns)
	s.handle("POST /api/v1/screening/campaigns", screenTownship, s.apiScreeningPlan)
	s.handle("GET /api/v1/screening/campaigns/{id}/coverage", screenStaff, s.apiScreeningCoverage)
	s.handle("POST /api/v1/screening/campaigns/{id}/measurements", screenVillage, s.apiScreeningRecord)
	s.handle("GET /api/v1/screening/follow-ups", screenTownship, s.apiScreeningFollowUps)
	s.handle("POST /api/v1/screening/cases/{id}/confirm", screenTownship, s.apiScreeningClose(true))
	s.handle("POST /api/v1/screening/cases/{id}/rule-out", screenTownship, s.apiScreeningClose(false))
	s.handle("GET /api/v1/residents/{id}/screening", screenStaff, s.apiScreeningResident)

	// Elderly health management, 65+ (issue 17): village and township
	// doctors keep the roster and record the yearly check-up for the
	// residents of the villages they manage (elderly.Service.Writes); a
	// county specialist with a care link reads the history.
	s.handle("GET /elderly", mchLocal, s.elderlyList)
	s.handle("GET /residents/{id}/elderly", mchStaff, s.elderlyPage)
	s.handle("POST /residents/{id}/elderly", mchLocal, s.elderlyRecord)
	s.handle("GET /api/v1/elderly/roster", mchLocal, s.apiElderlyRoster)
	s.handle("GET /api/v1/elderly/suspected", mchLocal, s.apiElderlySuspected)
	s.handle("GET /api/v1/residents/{id}/elderly", mchStaff, s.apiElderlyResident)
	s.handle("POST /api/v1/residents/{id}/elderly", mchLocal, s.apiElderlyRecord)
	// Study viewers (ECG, imaging): the doctors who send studies and the
	// readers and specialists who read them; each study is further scoped
	// to its resident (reading.Viewer).
	viewers := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist, care.RoleReader)
	s.handle("GET /residents/{id}/studies", viewers, s.residentStudiesPage)
	s.handle("GET /ecg/studies/{id}", viewers, s.ecgViewerPage)
	s.handle("GET /imaging/instances/{id}", viewers, s.imagingViewerPage)
	s.handle("GET /api/v1/residents/{id}/studies", viewers, s.apiResidentStudies)
	s.handle("GET /api/v1/ecg/studies/{id}", viewers, s.apiECGViewer)
	s.handle("GET /api/v1/ecg/studies/{id}/samples", viewers, s.apiECGSamples)
	s.handle("GET /api/v1/imaging/instances/{id}", viewers, s.apiImagingViewer)
	s.handle("GET /api/v1/imaging/instances/{id}/frames/{frame}", viewers, s.apiImagingFrame)
	s.handle("GET /api/v1/imaging/instances/{id}/measure", viewers, s.apiImagingMeasure)
	// DICOM imaging: clinics upload files for their residents and see their
	// studies; administrators create DICOMweb device credentials; machine
	// clients (modalities, gateways, Orthanc) use DICOMweb with them.
	imagingSenders := registrars
	imagingViewers := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist, care.RoleReader)
	s.handle("GET /residents/{id}/imaging", imagingViewers, s.imagingPage)
	s.handleLimit("POST /residents/{id}/imaging", imagingSenders, MaxImagingUploadBytes, s.imagingUpload)
	s.handle("GET /residents/{id}/imaging/{iid}/preview", imagingViewers, s.imagingPreview)
	s.handle("GET /api/v1/residents/{id}/imaging", imagingViewers, s.apiImagingList)
	s.handleLimit("POST /api/v1/residents/{id}/imaging", imagingSenders, MaxImagingUploadBytes/3*4+1<<20, s.apiImagingUpload)
	// Resumable uploads (tus 1.0) of ECG and DICOM files for the same senders:
	// an upload is its creator's alone (package upload).
	s.handle("OPTIONS "+uploadsPath, registrars, s.withUploads(s.uploadsOptions))
	s.handleLimit("POST "+uploadsPath, registrars, upload.MaxLength(), s.withUploads(s.uploadsCreate))
	s.handle("HEAD "+uploadsPath+"/{uid}", registrars, s.withUploads(s.uploadsHead))
	s.handleLimit("PATCH "+uploadsPath+"/{uid}", registrars, upload.MaxLength(), s.withUploads(s.uploadsPatch))
	s.handle("DELETE "+uploadsPath+"/{uid}", registrars, s.withUploads(s.uploadsDelete))
	s.systemRoutes(admin)
	s.handle("GET /admin/dicomweb", admin, s.dicomwebClientsPage)
	s.handle("POST /admin/dicomweb", admin, s.dicomwebClientCreate)
	s.handle("GET /api/v1/dicomweb/clients", admin, s.apiDICOMwebClients)
	s.handle("POST /api/v1/dicomweb/clients", admin, s.apiDICOMwebClientCreate)
	s.handle("POST /admin/dicomweb/{id}/{action}", admin, s.dicomwebClientState)
	s.handle("POST /api/v1/dicomweb/clients/{id}/{action}", admin, s.apiDICOMwebClientState)
	// Sterile treatment packs (issue 17): the sterile supply center's staff
	// (county specialists of the county hospital; the service checks the
	// institution) keep pack types, cycles and indicators; village and
	// township doctors order, receive, use on a patient and return.
	sterileUsers := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist)
	sterileCenter := access.Allow(care.RoleCountySpecialist)
	sterileClinics := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor)
	s.handle("GET /sterile", sterileUsers, s.sterilePage)
	s.handle("POST /sterile/types", sterileCenter, s.sterileTypeAdd)
	s.handle("POST /sterile/orders", sterileClinics, s.sterileOrder)
	s.handle("POST /sterile/cycles", sterileCenter, s.sterileCycle)
	s.handle("GET /sterile/cycles/{id}", sterileCenter, s.sterileCyclePage)
	s.handle("POST /sterile/cycles/{id}/indicators", sterileCenter, s.sterileIndicator)
	s.handle("POST /sterile/scan", sterileClinics, s.sterileScan)
	s.handle("GET /residents/{id}/sterile-packs", sterileUsers, s.residentPacksPage)
	s.handle("GET /api/v1/sterile", sterileUsers, s.apiSterile)
	s.handle("POST /api/v1/sterile/types", sterileCenter, s.apiSterileType)
	s.handle("POST /api/v1/sterile/orders", sterileClinics, s.apiSterileOrder)
	s.handle("POST /api/v1/sterile/cycles", sterileCenter, s.apiSterileCycle)
	s.handle("GET /api/v1/sterile/cycles/{id}", sterileCenter, s.apiSterileCyclePatients)
	s.handle("POST /api/v1/sterile/cycles/{id}/indicators", sterileCenter, s.apiSterileIndicator)
	s.handle("POST /api/v1/sterile/scan", sterileClinics, s.apiSterileScan)
	s.handle("GET /api/v1/residents/{id}/sterile-packs", sterileUsers, s.apiResidentPacks)
	// Expert sessions in townships and multi-site practice (issue 17,
	// docs/outreach.md): county hospitals (a county specialist there, or an
	// administrator) schedule; village and township doctors book for
	// residents in their scope and cancel; residents book and cancel on
	// /me; the township (and the specialist acting there) records
	// attendance; staff read the sessions and counts (the service shows
	// bookings only to the session's staff and, of their own residents, to
	// village doctors). A session's organiser (its hospital's specialist, an
	// administrator) edits or cancels it before it begins. Administrators register multi-site practice; a
	// practitioner switches the institution they act for on /workplace.
	outreachStaff := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist, care.RoleAdmin, care.RoleAnalyst)
	outreachPlanners := access.Allow(care.RoleCountySpecialist, care.RoleAdmin)
	outreachBookers := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor)
	outreachDesk := access.Allow(care.RoleTownshipDoctor, care.RoleCountySpecialist)
	practitioners := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist, care.RoleReader, care.RolePharmacist)
	residentOnly := access.Allow(care.RoleResident)
	s.handle("GET /outreach", outreachStaff, s.outreachPage)
	s.handle("POST /outreach/sessions", outreachPlanners, s.outreachSchedule)
	s.handle("GET /outreach/sessions/{id}", outreachStaff, s.outreachSessionPage)
	s.handle("POST /outreach/sessions/{id}/edit", outreachPlanners, s.outreachEdit)
	s.handle("POST /outreach/sessions/{id}/cancel", outreachPlanners, s.outreachCancelSession)
	s.handle("POST /outreach/sessions/{id}/bookings", outreachBookers, s.outreachBook)
	s.handle("POST /outreach/bookings/{id}/cancel", outreachBookers, s.outreachCancel)
	s.handle("POST /outreach/bookings/{id}/attendance", outreachDesk, s.outreachAttend)
	s.handle("GET /outreach/stats", outreachStaff, s.outreachStatsPage)
	s.handle("GET /me/outreach", residentOnly, s.myOutreachPage)
	s.handle("POST /me/outreach/bookings", residentOnly, s.myOutreachBook)
	s.handle("POST /me/outreach/bookings/{id}/cancel", residentOnly, s.outreachCancel)
	s.handle("GET /workplace", practitioners, s.workplacePage)
	s.handle("POST /workplace", practitioners, s.workplaceSwitch)
	s.handle("GET /admin/practice-sites", admin, s.sitesPage)
	s.handle("POST /admin/practice-sites", admin, s.siteCreate)
	s.handle("POST /admin/practice-sites/{id}/revoke", admin, s.siteRevoke)
	s.handle("GET /api/v1/outreach/sessions", outreachStaff, s.apiOutreachSessions)
	s.handle("POST /api/v1/outreach/sessions", outreachPlanners, s.apiOutreachSchedule)
	s.handle("GET /api/v1/outreach/sessions/{id}", outreachStaff, s.apiOutreachSession)
	s.handle("PUT /api/v1/outreach/sessions/{id}", outreachPlanners, s.apiOutreachEdit)
	s.handle("POST /api/v1/outreach/sessions/{id}/cancel", outreachPlanners, s.apiOutreachCancelSession)
	s.handle("POST /api/v1/outreach/sessions/{id}/bookings", outreachBookers, s.apiOutreachBook)
	s.handle("POST /api/v1/outreach/bookings/{id}/cancel", outreachBookers, s.apiOutreachCancel)
	s.handle("POST /api/v1/outreach/bookings/{id}/attendance", outreachDesk, s.apiOutreachAttend)
	s.handle("GET /api/v1/outreach/stats", outreachStaff, s.apiOutreachStats)
	s.handle("GET /api/v1/me/outreach", residentOnly, s.apiMyOutreach)
	s.handle("POST /api/v1/me/outreach/bookings", residentOnly, s.apiMyOutreachBook)
	s.handle("POST /api/v1/me/outreach/bookings/{id}/cancel", residentOnly, s.apiOutreachCancel)
	s.handle("GET /api/v1/workplace", practitioners, s.apiWorkplace)
	s.handle("POST /api/v1/workplace", practitioners, s.apiWorkplaceSwitch)
	s.handle("GET /api/v1/practice-sites", admin, s.apiSites)
	s.handle("POST /api/v1/practice-sites", admin, s.apiSiteCreate)
	s.handle("POST /api/v1/practice-sites/{id}/revoke", admin, s.apiSiteRevoke)
	// Health education (issue 17): village doctors and township staff plan
	// and record sessions of their institutions; the county's staff and
	// analysts read the tallies (counts, no names); a resident reads their
	// health-education prescriptions (双处方) on /me.
	eduLocal := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor)
	eduReaders := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist, care.RoleAnalyst)
	eduRx := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist)
	s.handle("GET /api/v1/healthedu/sessions", eduReaders, s.apiEduSessions)
	s.handle("POST /api/v1/healthedu/sessions", eduLocal, s.apiEduPlan)
	s.handle("GET /api/v1/healthedu/sessions/{id}", eduLocal, s.apiEduSession)
	s.handle("POST /api/v1/healthedu/sessions/{id}/record", eduLocal, s.apiEduRecord)
	s.handle("GET /api/v1/healthedu/indicators", eduReaders, s.apiEduIndicators)
	s.handle("GET /api/v1/healthedu/library", eduReaders, s.apiEduLibrary)
	s.handle("GET /api/v1/residents/{id}/education-rx", eduRx, s.apiResidentEduRx)
	s.handle("GET /api/v1/me/education-rx", self, s.apiMyEduRx)
	s.handle("GET /healthedu", eduReaders, s.eduPage)
	s.handle("POST /healthedu/sessions", eduLocal, s.eduPlan)
	s.handle("POST /healthedu/sessions/{id}/record", eduLocal, s.eduRecord)
	s.handle("GET /me/education-rx", self, s.myEduRxPage)
	// The advice library of the double prescription: the county health
	// bureau's analyst maintains it (healthedu.Editor), each change a new
	// edition.
	eduEditor := access.Allow(care.RoleAnalyst)
	s.handle("GET /healthedu/library", eduEditor, s.eduLibraryPage)
	s.handle("POST /healthedu/library", eduEditor, s.eduLibraryChange)
	s.handle("POST /healthedu/library/{id}", eduEditor, s.eduLibraryChange)
	s.handle("POST /healthedu/library/{id}/retire", eduEditor, s.eduLibraryChange)
	s.handle("POST /api/v1/healthedu/library", eduEditor, s.apiEduLibraryChange)
	s.handle("POST /api/v1/healthedu/library/{id}", eduEditor, s.apiEduLibraryChange)
	s.handle("POST /api/v1/healthedu/library/{id}/retire", eduEditor, s.apiEduLibraryChange)
	// Home visits (送医送护, issue 17): a resident asks on /me, a doctor for
	// a resident in scope; village and township doctors schedule to a
	// family-doctor team member, record, cancel and flag the bedridden and
	// disabled; the service checks each visit's resident is in scope.
	hvLocal := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor)
	hvCancel := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleResident)
	s.handle("GET /api/v1/home-visits", hvLocal, s.apiHomeVisits)
	s.handle("GET /api/v1/home-visits/flagged", hvLocal, s.apiHomeVisitsFlagged)
	s.handle("POST /api/v1/home-visits/{id}/schedule", hvLocal, s.apiHomeVisitSchedule)
	s.handle("POST /api/v1/home-visits/{id}/record", hvLocal, s.apiHomeVisitRecord)
	s.handle("POST /api/v1/home-visits/{id}/cancel", hvCancel, s.apiHomeVisitCancel)
	s.handle("GET /api/v1/residents/{id}/home-visits", hvLocal, s.apiResidentHomeVisits)
	s.handle("POST /api/v1/residents/{id}/home-visits", hvLocal, s.apiHomeVisitRequest)
	s.handle("POST /api/v1/residents/{id}/care-flags", hvLocal, s.apiCareFlag)
	s.handle("GET /api/v1/me/home-visits", self, s.apiMyHomeVisits)
	s.handle("POST /api/v1/me/home-visits", self, s.apiMyHomeVisitRequest)
	s.handle("GET /home-visits", hvLocal, s.hvPage)
	s.handle("POST /home-visits/{id}/schedule", hvLocal, s.hvSchedule)
	s.handle("POST /home-visits/{id}/record", hvLocal, s.hvRecord)
	s.handle("POST /home-visits/{id}/cancel", hvLocal, s.hvCancel)
	s.handle("GET /residents/{id}/home-visits", hvLocal, s.hvResidentPage)
	s.handle("POST /residents/{id}/home-visits", hvLocal, s.hvRequest)
	s.handle("POST /residents/{id}/care-flags", hvLocal, s.hvFlag)
	s.handle("GET /me/home-visits", self, s.hvResidentPage)
	s.handle("POST /me/home-visits", self, s.hvRequest)
	s.handle("POST /me/home-visits/{id}/cancel", self, s.hvMyCancel)
	devices := access.Devices()
	// Devices of health huts and clinics (issue 17): administrators register
	// and revoke them; a device posts readings with its bearer token;
	// clinicians in scope read a resident's readings.
	s.handle("GET /admin/devices", admin, s.hutDevicesPage)
	s.handle("POST /admin/devices", admin, s.hutDeviceCreate)
	s.handle("POST /admin/devices/{id}/revoke", admin, s.hutDeviceRevoke)
	s.handle("GET /api/v1/devices", admin, s.apiHutDevices)
	s.handle("POST /api/v1/devices", admin, s.apiHutDeviceCreate)
	s.handle("POST /api/v1/devices/{id}/revoke", admin, s.apiHutDeviceRevoke)
	s.handle("POST /api/v1/devices/readings", devices, s.apiDeviceReading)
	readingViewers := access.Allow(care.RoleVillageDoctor, care.RoleTownshipDoctor, care.RoleCountySpecialist)
	s.handle("GET /residents/{id}/readings", readingViewers, s.residentReadingsPage)
	s.handle("GET /api/v1/residents/{id}/device-readings", readingViewers, s.apiResidentReadings)
	s.handleLimit("POST /dicomweb/studies", devices, MaxSTOWBytes, s.dwStow)
	s.handleLimit("POST /dicomweb/studies/{study}", devices, MaxSTOWBytes, s.dwStow)
	s.handle("GET /dicomweb/studies", devices, s.dwSearchStudies)
	s.handle("GET /dicomweb/studies/{study}/series", devices, s.dwSearchSeries)
	s.handle("GET /dicomweb/studies/{study}/instances", devices, s.dwSearchInstances)
	s.handle("GET /dicomweb/studies/{study}/series/{series}/instances", devices, s.dwSearchInstances)
	s.handle("GET /dicomweb/studies/{study}", devices, s.dwRetrieve)
	s.handle("GET /dicomweb/studies/{study}/series/{series}", devices, s.dwRetrieve)
	s.handle("GET /dicomweb/studies/{study}/series/{series}/instances/{sop}", devices, s.dwRetrieve)
	s.handle("GET /dicomweb/studies/{study}/metadata", devices, s.dwMetadata)
	s.handle("GET /dicomweb/studies/{study}/series/{series}/metadata", devices, s.dwMetadata)
	s.handle("GET /dicomweb/studies/{study}/series/{series}/instances/{sop}/metadata", devices, s.dwMetadata)
	s.handle("GET /dicomweb/studies/{study}/series/{series}/instances/{sop}/frames/{frames}", devices, s.dwFrames)
	s.handle("GET /dicomweb/studies/{study}/series/{series}/instances/{sop}/rendered", devices, s.dwRendered)
	s.handle("GET /dicomweb/studies/{study}/series/{series}/instances/{sop}/frames/{frames}/rendered", devices, s.dwRendered)

	// Anything else is not found (deny by default: no catch-all handler).
	s.handle("/", pub, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		return notFound()
	})
}
