package web

import (
	"net/http"

	"countycare/access"
	"countycare/care"
	"countycare/consult"
	"countycare/reading"
	"countycare/resident"
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
	s.handle("POST /me/points", self, s.meReport)
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
	s.handle("GET /ecg/worklist", ecgReaders, s.ecgWorklist)

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
	s.handle("GET /settlements/{id}", eobReaders, s.settlementShow)
	s.handle("GET /settlements/{id}/pdf", eobReaders, s.settlementPDF)
	s.handle("GET /settlements/{id}/correct", cashier, s.settleCorrect)
	s.handle("POST /settlements/{id}/reverse", cashier, s.settlementReverse)
	s.handle("GET /settle/policies", cashier, s.policiesPage)
	s.handleLimit("POST /settle/policies", cashier, 2<<20, s.policyUpload)
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
	s.handle("POST /api/v1/prescriptions/{id}/dispense", dispensers, s.apiRxDispense)
	s.handle("GET /rx/queue", pharmacist, s.rxQueue)
	s.handle("POST /rx/{id}/decision", pharmacist, s.rxDecision)

	// Administration and audit.
	s.handle("GET /admin/accounts", admin, s.accountsPage)
	s.handle("POST /admin/accounts", admin, s.accountCreate)
	s.handle("POST /admin/accounts/{id}/disable", admin, s.accountDisable)
	s.handle("POST /admin/accounts/{id}/enable", admin, s.accountEnable)
	s.handle("POST /admin/accounts/{id}/password", admin, s.accountReset)
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
	s.handle("GET /api/v1/settle/policies", cashier, s.apiPolicies)
	s.handleLimit("POST /api/v1/settle/policies", cashier, 2<<20, s.apiPolicyUpload)
	s.handle("GET /api/v1/settle/reports", reports, s.apiSettleReports)
	s.handle("POST /api/v1/admissions", cashier, s.apiAdmit)
	s.handle("POST /api/v1/receivables/{id}/payments", cashier, s.apiPay)
	s.handle("GET /api/v1/stats/population", aggregates, s.apiStats)
	s.handle("GET /api/v1/residents/{id}/chronic", chronicCare, s.apiChronicOf)
	s.handle("POST /api/v1/residents/{id}/chronic", chronicCare, s.apiChronicEnroll)
	s.handle("GET /api/v1/chronic/overdue", registrars, s.apiChronicOverdue)
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

	// Anything else is not found (deny by default: no catch-all handler).
	s.handle("/", pub, func(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
		return notFound()
	})
}
