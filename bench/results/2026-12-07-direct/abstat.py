import json,sys,statistics as st
rows=[json.loads(l) for l in open(sys.argv[1]) if l.startswith('{"interval')]
def cls(r):
    a=max(r['before'],r['after']); b=min(r['before'],r['after'])
    if a<200: return 'near'
    if b>250: return 'apart'
    return 'mixed'
out={}
for r in rows: out.setdefault((cls(r),r['policy']),[]).append(r['rate'])
for k in sorted(out): print(k, len(out[k]), 'median %.1f'%st.median(out[k]), 'mean %.1f'%st.mean(out[k]))
