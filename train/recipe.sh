# The default model's recipe: its shape, schedule, masking and logging, sourced by
# train/continue.sh (these CPUs) and train/on-nvidia (a lent GPU), so that both continue the same
# run; each adds its paths and machinery (threads, amp, device), and on-nvidia its batch sizes.
# train/README.md says why each choice. The budget was 300 M tokens (decay from 255 M) until
# session 22, which raised it to 500 M (decay from 425 M) at 255.4 M tokens and decayed a branch
# instead, so the main run keeps its flat rate and later decays start from it. Session 32 raised it
# to 1 G (decay from 850 M) after the main run had decayed to 500 M and shipped: the run re-warms
# from there to the peak (schedule.raised) and trains flat again. Since session 24
# (293.2 M tokens) the SOP pairs are symmetric: ALBERT's pairs give their order away by length,
# and on pairs that do not, the shipped model's SOP head is at chance (train/README.md, "The SOP
# pairs give their order away by length").
RECIPE=(
  --embedding 128 --hidden 384 --heads 6 --ffn 1536 --max-pos 512
  --init-range 0.05 --pos-init sinusoidal --pos-init-std 0.1
  --phases "1x64x64t@0.02,2x128x64t@0.06,4x128x64t@1" --budget-tokens 1e9
  --lr 1e-3 --warmup-steps 1000 --decay wsd --decay-fraction 0.15 --rewarm-steps 300
  --mask-prob 0.2 --mask-replace mask --eval-masking single --sop-pairs symmetric
  --log-every 50 --eval-every 1000 --eval-examples 512 --eval-seq 128 --ckpt-every 200
)
