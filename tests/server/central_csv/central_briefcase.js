// ODK Central's CSV export of given submissions, run with central-backend's own code (see README.md).
// Usage: node central_briefcase.js <xform.xml> <xmlFormId> <out.zip> [instances.json]
// instances.json: [{instanceId, xml, createdAt, submitter: {id, displayName}|null, reviewState, deviceId, edits, formVersion, present, expected}]
const fs = require('fs');
const { Readable, Writable } = require('node:stream');
const { getFormFields } = require('./lib/data/schema');
const { streamBriefcaseCsvs } = require('./lib/data/briefcase');
const { zipStreamFromParts } = require('./lib/util/zip');
class MockField {
  constructor(data) { Object.assign(this, data); }
  with(other) { return new MockField(Object.assign({}, this, other)); }
  isStructural() { return (this.type === 'structure') || (this.type === 'repeat'); }
}
const xml = fs.readFileSync(process.argv[2], 'utf8');
const given = process.argv[5] ? JSON.parse(fs.readFileSync(process.argv[5], 'utf8')) : [];
const rows = given.map((s) => ({
  instanceId: s.instanceId, createdAt: new Date(s.createdAt), def: {}, xml: s.xml,
  reviewState: s.reviewState, deviceId: s.deviceId,
  aux: { attachment: { present: s.present, expected: s.expected }, encryption: {}, edit: { count: s.edits },
    exports: { formVersion: s.formVersion }, submitter: s.submitter },
}));
getFormFields(xml).then((fields) => {
  const input = Readable.from(rows, { objectMode: true });
  const archive = zipStreamFromParts(streamBriefcaseCsvs(input, fields.map((f) => new MockField(f)), process.argv[3]));
  const chunks = [];
  archive.pipe(new Writable({ write(c, _, done) { chunks.push(c); done(); }, final(done) { fs.writeFileSync(process.argv[4], Buffer.concat(chunks)); done(); } }));
});
