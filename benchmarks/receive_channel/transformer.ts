// The DICOM source spec's TypeScript transformer, verbatim (reference/dicom-source-spec.txt).
import { Message, TransformResult } from "@intu/sdk";
interface DicomMetadata {
studyInstanceUid: string;
seriesInstanceUid: string;
sopInstanceUid: string;
sopClassUid: string;
modality: string;
studyDate: string;
studyTime: string;
studyDescription: string;
patientId: string;
patientName: string;
accessionNumber: string;
referringPhysician: string;
bodyPartExamined: string;
numberOfFrames: number;
storagePath: string;
}
export default function transform(msg: Message): TransformResult {
let dicom: DicomMetadata;
try {
dicom = JSON.parse(msg.body as string);
} catch {
return { success: false, error: "Failed to parse DICOM metadata" };
}
const imagingStudy = {
resourceType: "ImagingStudy",
identifier: [
{
system: "urn:dicom:uid",
value: `urn:oid:${dicom.studyInstanceUid}`,
},
],
status: "available",
subject: {
identifier: {
system: "urn:oid:2.16.840.1.113883.19.5",
value: dicom.patientId,
},
display: dicom.patientName,
},
started: formatDicomDateTime(dicom.studyDate, dicom.studyTime),
description: dicom.studyDescription,
referrer: dicom.referringPhysician
? { display: dicom.referringPhysician }
: undefined,
series: [
{
uid: dicom.seriesInstanceUid,
modality: {
system: "http://dicom.nema.org/resources/ontology/DCM",
code: dicom.modality,
},
bodySite: dicom.bodyPartExamined
? {
system: "http://snomed.info/sct",
display: dicom.bodyPartExamined,
}
: undefined,
instance: [
{
uid: dicom.sopInstanceUid,
sopClass: {
system: "urn:ietf:rfc:3986",
code: `urn:oid:${dicom.sopClassUid}`,
},
numberOfFrames: dicom.numberOfFrames || 1,
},
],
},
],
endpoint: [
{
reference: dicom.storagePath,
},
],
};
return {
success: true,
body: JSON.stringify(imagingStudy),
contentType: "application/fhir+json",
};
}
function formatDicomDateTime(date: string, time: string): string {
if (!date || date.length < 8) return new Date().toISOString();
const d = `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}`;
if (time && time.length >= 4) {
const h = time.slice(0, 2);
const m = time.slice(2, 4);
const s = time.length >= 6 ? time.slice(4, 6) : "00";
return `${d}T${h}:${m}:${s}Z`;
}
return `${d}T00:00:00Z`;
}
